"""The Beam pipeline: one element per work item, each read, split, encoded and written whole.

A work item (:class:`Task`) is a chunk of a CSV file, a Parquet or TFRecord file, or a query.
One ``DoFn`` turns it into at most one shard per split, batch by batch, so nothing bigger than a
batch (~64k rows) is ever held and no row-sized element crosses a Beam boundary: the only data
Beam moves are the work items themselves. Results go to small JSON files in the artifact's work
directory, readable by the launching process on any runner: a :class:`Summary` per item (the
column kinds it saw, rows per split, its shards, bad rows), or the data error that stopped it.

The runner is whatever ``beam_args`` choose (see :mod:`conveyor.runtime.beam_options`):
``--direct_running_mode=multi_processing --direct_num_workers=N``, or
``--runner=DataflowRunner|FlinkRunner|SparkRunner`` (the artifact then needs to live on a
filesystem the workers share). When they choose neither a runner nor a running mode, work items
run on Beam's in-process FnApiRunner with one thread per CPU (:func:`runner_options`): tfx-bsl's
encoder and TensorFlow's compressing writer release the GIL while they work, and on 1M rows
(5 work items, 2 cores) two threads took 4.1-4.4 s where one took 6.9-7.4 s; three or four
threads were no faster on 2 cores (more cores were not measured). Unlike Beam's processes, the
threads start at once and share the imported TensorFlow.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa

from conveyor.components.examplegen import (
    columns,
    csv_source,
    encoding,
    splits,
    storage,
    writing,
)
from conveyor.components.examplegen.csv_source import BadRow
from conveyor.errors import DataError
from conveyor.runtime.beam_options import pipeline_options


@dataclass(frozen=True)
class Settings:
    """What every work item of one ExampleGen execution shares."""

    source: str
    work_dir: str
    output_format: str
    split_names: list[str]
    buckets: list[int] | None
    partition_feature: str | None
    quarantine: bool
    column_order: list[str] | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    null_values: list[str] | None = None
    url: str = ""


@dataclass(frozen=True)
class Task:
    """One work item. ``origin`` names its file (or query) for messages and for joining column
    kinds; ``group`` is its split when inputs are given per split; ``kinds`` forces column kinds
    (a second pass, once the kinds of every item are known)."""

    index: int
    origin: str
    span: int
    group: str | None
    chunk: csv_source.Chunk | None = None
    query: str = ""
    kinds: dict[str, str] | None = None


@dataclass
class Summary:
    """What one work item did."""

    index: int
    kinds: dict[str, str] | None
    consistent: bool
    counts: dict[str, int]
    shards: dict[str, str]
    bad_rows: int = 0
    quarantine: str | None = None
    columns: list[str] = field(default_factory=list)


class _Shards:
    """One lazily opened shard per split."""

    def __init__(self, settings: Settings, task: Task) -> None:
        self.settings = settings
        self.task = task
        self.open: dict[str, writing.TFRecordShard | writing.ParquetShard] = {}
        self.counts = dict.fromkeys(settings.split_names, 0)
        self._encoder: encoding.Encoder | None = None

    def write(self, split: str, rows: pa.RecordBatch | list[bytes]) -> None:
        if len(rows) == 0:
            return
        if split not in self.open:
            path = writing.shard_path(self.settings.work_dir, split, self.task.index,
                                      self.settings.output_format)
            self.open[split] = (writing.ParquetShard(path)
                                if self.settings.output_format == "parquet"
                                else writing.TFRecordShard(path))
        shard = self.open[split]
        if isinstance(shard, writing.ParquetShard):
            assert isinstance(rows, pa.RecordBatch)
            shard.write(rows)
            self.counts[split] += rows.num_rows
        else:
            if isinstance(rows, pa.RecordBatch):
                if self._encoder is None:
                    self._encoder = encoding.Encoder()
                rows = self._encoder.encode(rows)
            shard.write(rows)
            self.counts[split] += len(rows)

    def close(self) -> dict[str, str]:
        for shard in self.open.values():
            shard.close()
        return {split: shard.path for split, shard in self.open.items()}


def _batches(task: Task, settings: Settings, bad: list[BadRow],
             ) -> Iterator[pa.RecordBatch | tuple[list[bytes], int]]:
    """The rows of ``task``: Arrow batches, or serialized tf.Examples (TFRecord input)."""
    from conveyor.components.examplegen import parquet_source, query_source, tfrecord_source

    if settings.source == "csv":
        assert task.chunk is not None
        order = settings.column_order
        for read in csv_source.read_chunks(task.chunk, settings.delimiter, settings.encoding,
                                           settings.null_values, settings.quarantine,
                                           task.kinds):
            bad.extend(read.bad_rows)
            for batch in csv_source.iter_batches(read):
                yield batch.select(order) if order and batch.schema.names != order else batch
    elif settings.source == "parquet":
        yield from parquet_source.read(task.origin, settings.column_order or [], task.kinds)
    elif settings.source == "query":
        where = f"query of split '{task.group}'" if task.group else "query"
        yield from query_source.read(settings.url, task.query, task.kinds, where)
    else:
        for read_records in tfrecord_source.read(task.origin):
            if read_records.records:
                yield read_records.records, read_records.first


def convert_task(task: Task, settings: Settings) -> Summary:
    """Read, split, encode and write one work item."""
    from conveyor.components.examplegen import tfrecord_source

    shards = _Shards(settings, task)
    bad: list[BadRow] = []
    kinds: dict[str, str] | None = None
    names: list[str] = []
    consistent = True
    decode = settings.output_format == "parquet" or settings.partition_feature is not None
    try:
        for item in _batches(task, settings, bad):
            records: list[bytes] | None = None
            if isinstance(item, tuple):
                records, first = item
                if not decode:
                    _route_records(records, task, settings, shards)
                    continue
                batch = tfrecord_source.decode(records, first, task.origin)
                if task.kinds:
                    batch = _cast(batch, task.kinds)
            else:
                batch = item
            seen = {n: columns.kind_of(t) for n, t in zip(batch.schema.names,
                                                           batch.schema.types, strict=True)}
            if kinds is None:
                kinds, names = seen, list(batch.schema.names)
            elif seen != kinds:
                consistent = False
                kinds = {n: columns.widen(kinds.get(n, "null"), k) for n, k in seen.items()} \
                    | {n: k for n, k in kinds.items() if n not in seen}
            _route_batch(batch, records, task, settings, shards)
    finally:
        written = shards.close()
    quarantine = _write_quarantine(bad, task, settings) if bad else None
    return Summary(task.index, kinds, consistent, shards.counts, written, len(bad), quarantine,
                   names)


def _cast(batch: pa.RecordBatch, kinds: dict[str, str]) -> pa.RecordBatch:
    arrays = []
    for name, kind in kinds.items():
        index = batch.schema.get_field_index(name)
        arrays.append(columns.cast(batch.column(index), kind) if index >= 0
                      else pa.nulls(batch.num_rows, columns.arrow_type(kind)))
    return pa.RecordBatch.from_arrays(arrays, list(kinds))


def _route_batch(batch: pa.RecordBatch, records: list[bytes] | None, task: Task,
                 settings: Settings, shards: _Shards) -> None:
    if settings.buckets is None:
        assert task.group is not None
        shards.write(task.group, records if records is not None and
                     settings.output_format != "parquet" else batch)
        return
    hashes = splits.hash_rows(batch, settings.partition_feature, task.origin)
    assignment = splits.assign(hashes, settings.buckets)
    for index, split in enumerate(settings.split_names):
        rows = np.flatnonzero(assignment == index)
        if records is not None and settings.output_format != "parquet":
            shards.write(split, [records[i] for i in rows])
        else:
            shards.write(split, batch.take(pa.array(rows)))


def _route_records(records: list[bytes], task: Task, settings: Settings,
                   shards: _Shards) -> None:
    """Serialized records, split by the hash of their bytes (no decoding)."""
    if settings.buckets is None:
        assert task.group is not None
        shards.write(task.group, records)
        return
    lengths = np.fromiter(map(len, records), np.int64, count=len(records))
    offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths)])
    data = np.frombuffer(b"".join(records), np.uint8)
    assignment = splits.assign(splits.hash_bytes(offsets, data), settings.buckets)
    for index, split in enumerate(settings.split_names):
        shards.write(split, [records[i] for i in np.flatnonzero(assignment == index)])


def _write_quarantine(bad: list[BadRow], task: Task, settings: Settings) -> str:
    path = os.path.join(settings.work_dir, f"quarantine-{task.index:05d}.jsonl")
    with storage.create(path) as handle:
        for row in bad:
            record = {"file": row.file, "line": row.line, "span": task.span,
                      "reason": row.reason, "text": row.text}
            handle.write((json.dumps(record) + "\n").encode())
    return path


def _summary_path(work_dir: str, index: int) -> str:
    return os.path.join(work_dir, f"summary-{index:05d}.json")


def _error_path(work_dir: str, index: int) -> str:
    return os.path.join(work_dir, f"error-{index:05d}.json")


def _dump(path: str, value: Any) -> None:
    with storage.create(path) as handle:
        handle.write(json.dumps(value).encode())


def _load(path: str) -> Any:
    with storage.open_read(path) as handle:
        return json.loads(handle.read())


class ConvertFn(beam.DoFn):
    """Runs :func:`convert_task` on each work item, recording its summary or data error."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.settings = settings

    def process(self, task: Task) -> list[int]:
        """Convert one item; a data error is recorded for the launching process to raise."""
        work_dir = self.settings.work_dir
        if storage.match(os.path.join(work_dir, "error-*")):
            return []  # another item already failed: the run fails anyway
        try:
            summary = convert_task(task, self.settings)
        except DataError as err:
            _dump(_error_path(work_dir, task.index), {"message": str(err)})
            return []
        _dump(_summary_path(work_dir, task.index), asdict(summary))
        return [task.index]


#: Most DirectRunner threads used by default; each holds one work item's batches in memory.
MAX_THREADS = 8
_RUNNER_CHOICES = ("--runner", "--direct_running_mode", "--direct_num_workers")


def _cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def runner_options(beam_args: Sequence[str], tasks: int) -> list[str]:
    """``beam_args``, plus DirectRunner threads (one per CPU, at most :data:`MAX_THREADS` and
    ``tasks``) when they choose no runner, running mode or number of workers."""
    if any(arg.startswith(_RUNNER_CHOICES) for arg in beam_args):
        return list(beam_args)
    threads = min(_cpus(), MAX_THREADS, tasks)
    if threads < 2:
        return list(beam_args)
    return [*beam_args, "--direct_running_mode=multi_threading",
            f"--direct_num_workers={threads}"]


def run(tasks: Sequence[Task], settings: Settings, beam_args: Sequence[str]) -> list[Summary]:
    """Run ``tasks`` on the Beam runner ``beam_args`` choose; their summaries, in task order.
    Raises the :class:`DataError` of the first failed item."""
    api: Any = beam  # Beam's transforms are untyped
    options = pipeline_options(runner_options(beam_args, len(tasks)))
    with api.Pipeline(options=options) as pipeline:
        _ = (pipeline
             | "WorkItems" >> api.Create(list(tasks))
             | "ReadSplitWrite" >> api.ParDo(ConvertFn(settings)))
    errors = sorted(path for path, _ in storage.match(os.path.join(settings.work_dir,
                                                                    "error-*")))
    if errors:
        raise DataError(_load(errors[0])["message"])
    summaries = []
    for task in tasks:
        raw = _load(_summary_path(settings.work_dir, task.index))
        summaries.append(Summary(**raw))
    return summaries
