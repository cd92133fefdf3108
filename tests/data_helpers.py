"""Real data for the data-component tests, written in the Examples layout without an ExampleGen.

``write_examples`` turns Arrow tables into ``{uri}/Split-{name}/data_tfrecord-*.gz``: gzipped
TFRecords of serialized ``tf.train.Example``, encoded by tfx-bsl's
``RecordBatchToExamplesEncoder``. The components below make such artifacts inside a pipeline:
the penguins CSV, and synthetic spans whose distributions can be shifted to inject drift or
skew.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from conveyor import ExternalFiles, In, Out, component
from conveyor.artifacts import Examples, ExampleStatistics, Model

_PENGUINS = importlib.util.find_spec("palmerpenguins")
assert _PENGUINS is not None and _PENGUINS.origin is not None, "palmerpenguins is not installed"
#: The Palmer penguins data set (344 rows, 8 columns, some values NA), shipped by palmerpenguins.
PENGUINS_CSV = os.path.join(os.path.dirname(_PENGUINS.origin), "data", "penguins.csv")


def read_csv(path: str) -> pa.Table:
    """A CSV file as an Arrow table, ``NA`` and empty cells as nulls."""
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
        null_values=["NA", ""], strings_can_be_null=True))


def _as_list_column(column: pa.ChunkedArray) -> pa.Array:
    values = column.combine_chunks()
    if pa.types.is_floating(values.type):
        values = values.cast(pa.float32())
    elif pa.types.is_integer(values.type):
        values = values.cast(pa.int64())
    else:
        values = values.cast(pa.large_binary())
    present = pc.is_valid(values)
    lengths = pc.cast(present, pa.int64()).to_numpy(zero_copy_only=False)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int64())
    # A null list is an absent feature in the tf.Example: TFDV counts it as missing.
    return pa.LargeListArray.from_arrays(offsets, values.drop_null(),
                                         mask=pc.invert(present))


def to_record_batch(table: pa.Table) -> pa.RecordBatch:
    """``table`` with every column as a list column, as tf.Example coders expect."""
    return pa.RecordBatch.from_arrays([_as_list_column(c) for c in table.columns],
                                      table.column_names)


def write_examples(uri: str, splits: Mapping[str, pa.Table], *, shards: int = 1,
                   rows_per_batch: int = 10_000) -> list[str]:
    """Write each table as the split of that name under ``uri``; returns the split names."""
    import tensorflow as tf
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    encoder = RecordBatchToExamplesEncoder()
    for name, table in splits.items():
        split_dir = os.path.join(uri, f"Split-{name}")
        os.makedirs(split_dir, exist_ok=True)
        per_shard = -(-table.num_rows // shards)
        for shard in range(shards):
            path = os.path.join(split_dir, f"data_tfrecord-{shard:05d}-of-{shards:05d}.gz")
            part = table.slice(shard * per_shard, per_shard)
            with tf.io.TFRecordWriter(path, options="GZIP") as writer:
                for start in range(0, part.num_rows, rows_per_batch):
                    batch = to_record_batch(part.slice(start, rows_per_batch))
                    for record in encoder.encode(batch):
                        writer.write(record)
    return list(splits)


def examples_content(uri: str) -> str:
    """A fingerprint of the data of the Examples at ``uri``: SHA-256 over each file's path
    (relative to ``uri``) and content, where the records of gzipped TFRecord files count
    parsed as ``tf.train.Example`` and re-serialized with sorted feature maps. tfx-bsl's
    encoder writes a row's features in protobuf map order, which differs from process to
    process, so the files (and the recorded fingerprint, a hash of their bytes) differ between
    runs of the same data; this does not."""
    import tensorflow as tf

    digest = hashlib.sha256()
    files = sorted(os.path.relpath(os.path.join(d, f), uri)
                   for d, _, names in os.walk(uri) for f in names)
    assert files, f"no files under {uri}"
    for name in files:
        path = os.path.join(uri, name)
        digest.update(f"{name}\n".encode())
        if not name.endswith(".gz"):
            with open(path, "rb") as f:
                digest.update(f.read())
            continue
        for record in tf.data.TFRecordDataset(path, compression_type="GZIP").as_numpy_iterator():
            canonical = tf.train.Example.FromString(record).SerializeToString(deterministic=True)
            digest.update(len(canonical).to_bytes(8, "little") + canonical)
    return digest.hexdigest()


def split_rows(table: pa.Table, eval_every: int = 3) -> dict[str, pa.Table]:
    """``train`` and ``eval`` splits of ``table``: every ``eval_every``-th row goes to eval."""
    index = np.arange(table.num_rows)
    return {"train": table.filter(pa.array(index % eval_every != 0)),
            "eval": table.filter(pa.array(index % eval_every == 0))}


def synthetic_table(rows: int, *, seed: int = 0, shift: float = 0.0,
                    colours: tuple[str, ...] = ("red", "green", "blue"),
                    colour_weights: tuple[float, ...] | None = None) -> pa.Table:
    """Rows with a numeric ``size`` (normal, mean 10 + ``shift``), an integer ``count`` and a
    categorical ``colour`` drawn from ``colours`` (``colour_weights`` skews the draw)."""
    rng = np.random.default_rng(seed)
    weights = np.asarray(colour_weights or [1.0] * len(colours), dtype=float)
    return pa.table({
        "size": rng.normal(10.0 + shift, 2.0, rows),
        "count": rng.integers(0, 20, rows),
        "colour": rng.choice(list(colours), rows, p=weights / weights.sum()),
    })


@component
def penguin_examples(source: ExternalFiles, examples: Out[Examples], drop_column: str = "",
                     wrong_type_column: str = "", new_species: str = "") -> None:
    """The penguins CSV as ``train``/``eval`` Examples; optionally corrupted in ``eval``: a column
    dropped, a numeric column turned into strings, or every species renamed ``new_species``."""
    splits = split_rows(read_csv(source))
    evaluation = splits["eval"]
    if drop_column:
        evaluation = evaluation.drop([drop_column])
    if wrong_type_column:
        index = evaluation.column_names.index(wrong_type_column)
        text = pc.cast(evaluation.column(wrong_type_column), pa.string())
        evaluation = evaluation.set_column(index, wrong_type_column, text)
    if new_species:
        index = evaluation.column_names.index("species")
        renamed = pa.array([new_species] * evaluation.num_rows)
        evaluation = evaluation.set_column(index, "species", renamed)
    splits["eval"] = evaluation
    examples.split_names = write_examples(examples.uri, splits)
    examples.span = 0
    examples.version = 0


@component
def synthetic_examples(examples: Out[Examples], span: int = 0, rows: int = 2_000,
                       shift: float = 0.0, colour_weights: list[float] | None = None,
                       splits: list[str] | None = None) -> None:
    """A synthetic span (see :func:`synthetic_table`) written as each split in ``splits``
    (default ``train`` and ``eval``); ``span`` seeds the random draw."""
    weights = tuple(colour_weights) if colour_weights else None
    names = splits or ["train", "eval"]
    tables = {name: synthetic_table(rows, seed=span * 10 + i, shift=shift,
                                    colour_weights=weights)
              for i, name in enumerate(names)}
    examples.split_names = write_examples(examples.uri, tables)
    examples.span = span
    examples.version = 0


@component
def downstream(statistics: In[ExampleStatistics], done: Out[Model]) -> None:
    """Stands for a node after validation (a Transform or Trainer): records that it ran."""
    with open(os.path.join(done.uri, "ran.txt"), "w", encoding="utf-8") as f:
        f.write(statistics.uri)
