"""Parquet input: checking files' schemas when planning, and reading a file in batches."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from conveyor.components.examplegen import columns, storage
from conveyor.components.examplegen.spans import InputFile
from conveyor.errors import DataError

#: Rows per Arrow batch read from a file.
BATCH_ROWS = 65_536


def _parquet_file(path: str) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(storage.open_read(path))
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"{path}: not a readable Parquet file ({err})") from err


def plan(files: list[InputFile]) -> list[str]:
    """Check every file and return the column order (the first file's).

    Raises :class:`DataError` for an empty or unreadable file, a file without rows, a column of
    an unsupported type, and a column present in one file but not another."""
    order: list[str] | None = None
    first = ""
    for file in files:
        if file.size == 0:
            raise DataError(f"{file.path}: the file is empty; expected a Parquet file")
        parquet = _parquet_file(file.path)
        schema = parquet.schema_arrow
        for field in schema:
            try:
                columns.kind_of(field.type)
            except TypeError as err:
                raise DataError(f"{file.path}: column '{field.name}': {err}") from err
        if parquet.metadata.num_rows == 0:
            raise DataError(f"{file.path}: the file has columns but no rows")
        if order is None:
            order, first = list(schema.names), file.path
            continue
        missing = [n for n in order if n not in schema.names]
        extra = [n for n in schema.names if n not in order]
        if missing or extra:
            name = (missing or extra)[0]
            lacking, having = (file.path, first) if missing else (first, file.path)
            raise DataError(f"{lacking}: column '{name}' is missing (it is in {having}); every "
                            f"file of every span and split needs the same columns")
    return order or []


def read(path: str, order: list[str], kinds: Mapping[str, str] | None,
         ) -> Iterator[pa.RecordBatch]:
    """Batches of normalised columns in ``order``, cast to ``kinds`` when given."""
    parquet = _parquet_file(path)
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=order):
        arrays = [columns.normalize(batch.column(name)) for name in order]
        if kinds:
            arrays = [columns.cast(a, kinds[name]) for a, name in zip(arrays, order, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, order)
