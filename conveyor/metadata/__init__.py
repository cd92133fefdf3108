"""Metadata: runs, executions, artifacts and lineage, recorded in ML Metadata.

``connect(config)`` opens a store; only the package :mod:`conveyor.metadata.mlmd` imports
``ml_metadata``, and it is imported when a store is opened, not when Conveyor is imported.
"""
from __future__ import annotations

from conveyor.metadata.config import MetadataConfig
from conveyor.metadata.records import (
    ArtifactRecord,
    ExecutionIO,
    ExecutionRecord,
    LineageEvent,
    LineageGraph,
    RunRecord,
)
from conveyor.metadata.store import MetadataStore


def connect(config: MetadataConfig) -> MetadataStore:
    """Open the ML Metadata store described by ``config`` (creating a SQLite file if missing)."""
    from conveyor.metadata.mlmd import MlmdStore

    return MlmdStore(config)


__all__ = [
    "ArtifactRecord", "ExecutionIO", "ExecutionRecord", "LineageEvent", "LineageGraph",
    "MetadataConfig", "MetadataStore", "RunRecord", "connect",
]
