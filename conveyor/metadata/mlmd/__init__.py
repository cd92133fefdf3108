"""The metadata store on ML Metadata: the only package of Conveyor that imports ``ml_metadata``.

:mod:`.store` holds :class:`MlmdStore` (the reads and writes of
:class:`conveyor.metadata.store.MetadataStore`), :mod:`.connect` opens the database (SQLite, MySQL
or in-memory) and :mod:`.contexts` registers types and contexts.
"""
from conveyor.metadata.mlmd.store import MlmdStore

__all__ = ["MlmdStore"]
