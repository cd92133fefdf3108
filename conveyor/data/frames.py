"""Examples as one ``pandas.DataFrame`` of flat columns, for learners that train in memory.

The record batches of :mod:`conveyor.data.examples` hold a list per example and feature (as
tf.Example does). A learner such as scikit-learn wants one value per cell, so each column with
at most one value per row becomes a flat column: a missing value is ``NaN`` (numbers) or
``None`` (text); bytes are decoded as UTF-8 text. A column with several values in some row has
no flat form and stays a column of lists (or arrays); :func:`multivalued_columns` names them.
"""
from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.data.examples import SplitFiles, read_batches
from conveyor.errors import DataError


def split_files_from_patterns(patterns: Sequence[str], split: str = "") -> SplitFiles:
    """The files matching ``patterns`` (as ``TrainerArgs.train_files`` gives them) as
    :class:`SplitFiles`; ``split`` names them in errors. Raises :class:`DataError` when nothing
    matches or the files mix payloads."""
    files = tuple(sorted({path for pattern in patterns for path in glob.glob(pattern)
                          if os.path.isfile(path)}))
    where = f"split '{split}'" if split else "files"
    if not files:
        raise DataError(f"{where}: no file matches {list(patterns)}")
    directory = os.path.dirname(files[0])
    if all(f.endswith(".parquet") for f in files):
        return SplitFiles(split, directory, files, "parquet")
    if any(f.endswith(".parquet") for f in files):
        raise DataError(f"{where}: {list(patterns)} match both Parquet and TFRecord files")
    gzipped = [f.endswith(".gz") for f in files]
    if any(gzipped) and not all(gzipped):
        raise DataError(f"{where}: {list(patterns)} match gzipped and uncompressed TFRecords")
    return SplitFiles(split, directory, files, "tfrecord", "GZIP" if all(gzipped) else "")


def read_frame(files: SplitFiles) -> Any:
    """Every row of ``files`` as one ``pandas.DataFrame`` of flat columns (see the module
    docstring); columns in name order. Raises :class:`DataError` for an empty split."""
    batches = [flatten_batch(b) for b in read_batches(files)]
    if not batches or not sum(b.num_rows for b in batches):
        raise DataError(f"split '{files.split}' ({files.directory}) holds no rows")
    table = pa.Table.from_batches(batches) if _same_schema(batches) else pa.concat_tables(
        [pa.Table.from_batches([b]) for b in batches], promote=True)
    return table.to_pandas()


def _same_schema(batches: list[pa.RecordBatch]) -> bool:
    return all(b.schema.equals(batches[0].schema) for b in batches)


def flatten_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with each list column of at most one value per row made flat."""
    return pa.RecordBatch.from_arrays([flatten_column(c) for c in batch.columns],
                                      batch.schema.names)


def flatten_column(column: pa.Array) -> pa.Array:
    """A list column of at most one value per row as a flat column (nulls where empty),
    bytes decoded as text; any other column unchanged."""
    kind = column.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return _as_text(column)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
    if len(lengths) and lengths.max() > 1:
        return column
    present = lengths == 1
    # Row i takes value number (cumulative count of values before it); empty rows take null.
    positions = np.cumsum(present) - 1
    indices = pa.array(positions, pa.int64(), mask=~present)
    return _as_text(pc.take(pc.list_flatten(column), indices))


def _as_text(column: pa.Array) -> pa.Array:
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        try:
            return column.cast(pa.large_string())
        except pa.ArrowInvalid:
            return column  # not UTF-8: leave the bytes to the learner
    return column


def multivalued_columns(frame: Any, columns: Sequence[str]) -> list[str]:
    """Those of ``columns`` in ``frame`` that hold several values in some row (lists or
    arrays), which a flat learner cannot take."""
    bad = []
    for name in columns:
        values = frame[name]
        if values.dtype == object and values.map(lambda v: isinstance(v, (list, np.ndarray))).any():
            bad.append(name)
    return bad
