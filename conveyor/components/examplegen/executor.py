"""ExampleGen executors: plan work items, run them on Beam, reconcile column kinds, publish.

Phases of every ExampleGen (see :mod:`.convert` for the Beam side):

1. **Resolve** the input: files by pattern, span and version (:mod:`.spans`), or queries.
2. **Plan** work items in the launching process: CSV files are cut into chunks, every file is
   checked for emptiness and for the same columns as the others, so these errors come before any
   data is converted.
3. **Convert** every item on Beam, inferring column kinds per item.
4. **Reconcile**: join the kinds of all items (integers widen to floats; a column that is a
   number in one span or split and text in another is a :class:`~conveyor.errors.DataError`
   naming the column and both files). Items whose own kinds differ from the joined ones are
   converted again with the joined kinds forced, so every shard agrees. Usually none are.
5. **Publish** shards under ``Split-<name>/`` with TFX's names, the quarantine file when rows
   were set aside, and the artifact's properties.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from conveyor.artifacts import Examples
from conveyor.components.examplegen import columns, convert, options, spans, storage, writing
from conveyor.components.examplegen.convert import Settings, Summary, Task
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError

_LOG = logging.getLogger("conveyor.examplegen")
_PAYLOAD_FORMATS = {"tfrecord": "FORMAT_TF_EXAMPLE", "parquet": "FORMAT_PARQUET"}


def _resolve(input_base: str, pattern: str, split_patterns: Mapping[str, str] | None,
             splits: Mapping[str, int] | None, partition_feature: str | None,
             span_range: Mapping[str, int | str] | None,
             ) -> tuple[options.SplitPlan, spans.Selection]:
    where = "ExampleGen"
    plan = options.parse_splits(where, splits, partition_feature, split_patterns, pattern)
    chosen = options.parse_span_range(where, span_range)
    patterns: dict[str | None, str] = {None: pattern}
    if plan.patterns:
        patterns = {name: text for name, text in plan.patterns.items()}
    return plan, spans.select(input_base, patterns, chosen)


def _settings(source: str, examples: Examples, plan: options.SplitPlan, output_format: str,
              bad_rows: str, **extra: Any) -> Settings:
    return Settings(
        source=source, work_dir=os.path.join(examples.uri, ".work"),
        output_format=output_format, split_names=plan.names,
        buckets=list(plan.buckets.values()) if plan.buckets else None,
        partition_feature=plan.partition_feature, quarantine=bad_rows == "quarantine", **extra)


def run_csv(*, input_base: str, pattern: str, split_patterns: dict[str, str] | None,
            splits: dict[str, int] | None, partition_feature: str | None,
            span_range: dict[str, int | str] | None, output_format: str, bad_rows: str,
            delimiter: str, encoding: str, null_values: list[str] | None, examples: Examples,
            context: ExecutionContext | None = None) -> None:
    """Executor of :class:`~conveyor.components.examplegen.CsvExampleGen`."""
    from conveyor.components.examplegen import csv_source

    plan, selection = _resolve(input_base, pattern, split_patterns, splits, partition_feature,
                               span_range)
    tasks: list[Task] = []
    order: tuple[str, ...] | None = None
    first = ""
    for group, files in selection.files.items():
        for chunk in csv_source.plan(files, delimiter, encoding):
            if order is None:
                order, first = chunk.header, chunk.path
            _check_columns(order, first, chunk.header, chunk.path, group)
            span = next(f.span for f in files if f.path == chunk.path)
            tasks.append(Task(len(tasks), chunk.path, span, group, chunk=chunk))
    settings = _settings("csv", examples, plan, output_format, bad_rows,
                         column_order=list(order or ()), delimiter=delimiter, encoding=encoding,
                         null_values=null_values)
    _generate(examples, tasks, settings, selection.spans, selection.latest_version, context)


def run_parquet(*, input_base: str, pattern: str, split_patterns: dict[str, str] | None,
                splits: dict[str, int] | None, partition_feature: str | None,
                span_range: dict[str, int | str] | None, output_format: str, bad_rows: str,
                examples: Examples, context: ExecutionContext | None = None) -> None:
    """Executor of :class:`~conveyor.components.examplegen.ParquetExampleGen`."""
    from conveyor.components.examplegen import parquet_source

    plan, selection = _resolve(input_base, pattern, split_patterns, splits, partition_feature,
                               span_range)
    every = [f for files in selection.files.values() for f in files]
    order = parquet_source.plan(every)
    tasks = [Task(i, f.path, f.span, group)
             for i, (group, f) in enumerate((g, f) for g, fs in selection.files.items()
                                            for f in fs)]
    settings = _settings("parquet", examples, plan, output_format, bad_rows, column_order=order)
    _generate(examples, tasks, settings, selection.spans, selection.latest_version, context)


def run_tfrecord(*, input_base: str, pattern: str, split_patterns: dict[str, str] | None,
                 splits: dict[str, int] | None, partition_feature: str | None,
                 span_range: dict[str, int | str] | None, output_format: str, bad_rows: str,
                 examples: Examples, context: ExecutionContext | None = None) -> None:
    """Executor of :class:`~conveyor.components.examplegen.ImportExampleGen`."""
    plan, selection = _resolve(input_base, pattern, split_patterns, splits, partition_feature,
                               span_range)
    tasks: list[Task] = []
    for group, files in selection.files.items():
        for file in files:
            if file.size == 0:
                raise DataError(f"{file.path}: the file is empty; expected TFRecords of "
                                f"tf.Example")
            tasks.append(Task(len(tasks), file.path, file.span, group))
    settings = _settings("tfrecord", examples, plan, output_format, bad_rows)
    _generate(examples, tasks, settings, selection.spans, selection.latest_version, context)


def run_query(*, url: str, query: str, split_queries: dict[str, str] | None,
              splits: dict[str, int] | None, partition_feature: str | None, span: int,
              data_files: str | None, output_format: str, examples: Examples,
              context: ExecutionContext | None = None) -> None:
    """Executor of :class:`~conveyor.components.examplegen.QueryExampleGen`."""
    del data_files  # only part of the cache key
    where = "QueryExampleGen"
    if split_queries is not None:
        plan = options.SplitPlan(None, None, dict(split_queries))
        queries: dict[str | None, str] = {name: text for name, text in split_queries.items()}
    else:
        plan = options.parse_splits(where, splits, partition_feature, None, None)
        queries = {None: query}
    tasks = [Task(i, f"query{f' of split {g!r}' if g else ''}", span, g,
                  query=text.replace("{SPAN}", str(span)))
             for i, (g, text) in enumerate(queries.items())]
    settings = _settings("query", examples, plan, output_format, "error", url=url)
    _generate(examples, tasks, settings, [span], 0, context)


def _check_columns(order: Sequence[str], first: str, header: Sequence[str], path: str,
                   group: str | None) -> None:
    missing = [n for n in order if n not in header]
    extra = [n for n in header if n not in order]
    if not missing and not extra:
        return
    split = f" (split '{group}')" if group else ""
    if missing:
        raise DataError(f"{path}:1{split}: column '{missing[0]}' is missing (it is in "
                        f"{first}); every file of every span and split needs the same columns")
    raise DataError(f"{first}:1: column '{extra[0]}' is missing (it is in {path}{split}); every "
                    f"file of every span and split needs the same columns")


def _where(task: Task) -> str:
    split = f"split '{task.group}', " if task.group else ""
    return f"{split}span {task.span} ({task.origin})"


def reconcile(tasks: Sequence[Task], summaries: Sequence[Summary], strict_columns: bool,
              ) -> dict[str, str]:
    """The kind of every column over all work items; raises :class:`DataError` when a column
    changes between numbers and text across files, spans or splits, or (``strict_columns``)
    is missing from one of them."""
    per_origin: dict[str, tuple[Task, dict[str, str]]] = {}
    for task, summary in zip(tasks, summaries, strict=True):
        if summary.kinds is None:
            continue
        _, known = per_origin.setdefault(task.origin, (task, {}))
        for name, kind in summary.kinds.items():
            known[name] = columns.widen(known.get(name, "null"), kind)
    joined: dict[str, str] = {}
    seen_in: dict[str, Task] = {}
    for task, kinds in per_origin.values():
        for name, kind in kinds.items():
            if name not in joined:
                joined[name], seen_in[name] = kind, task
                continue
            common = columns.join(joined[name], kind)
            if common is None:
                raise DataError(
                    f"column '{name}' changes type: {joined[name]} in "
                    f"{_where(seen_in[name])} but {kind} in {_where(task)}; make the column "
                    f"hold one type in every span and split")
            joined[name] = common
    if strict_columns:
        for task, kinds in per_origin.values():
            for name in joined:
                if name not in kinds:
                    raise DataError(f"column '{name}' is missing in {_where(task)} (it is in "
                                    f"{_where(seen_in[name])}); every split needs the same "
                                    f"columns")
    return {n: "bytes" if k == "null" else "list<bytes>" if k == "list<null>" else k
            for n, k in joined.items()}


def _generate(examples: Examples, tasks: list[Task], settings: Settings, span_list: list[int],
              version: int, context: ExecutionContext | None) -> None:
    logger = context.logger if context is not None else _LOG
    beam_args = context.beam_args if context is not None else []
    try:
        summaries = convert.run(tasks, settings, beam_args)
        kinds: dict[str, str] | None = None
        if any(s.kinds is not None for s in summaries):
            kinds = reconcile(tasks, summaries, settings.source == "query")
            redo = [replace(t, kinds=kinds) for t, s in zip(tasks, summaries, strict=True)
                    if s.kinds is not None and (not s.consistent or s.kinds != kinds)]
            if redo:
                logger.info("converting %d of %d work items again with the joined column "
                            "kinds %s", len(redo), len(tasks), columns.describe(kinds))
                again = {s.index: s for s in convert.run(redo, settings, beam_args)}
                summaries = [again.get(s.index, s) for s in summaries]
        _publish(examples, summaries, settings, kinds, logger)
    finally:
        storage.remove_tree(settings.work_dir)
    examples.span = span_list[-1]
    examples.version = version
    examples.split_names = settings.split_names
    examples.custom_properties["spans"] = json.dumps(span_list)


def _publish(examples: Examples, summaries: Sequence[Summary], settings: Settings,
             kinds: Mapping[str, str] | None, logger: logging.Logger) -> None:
    import pyarrow as pa

    shards: dict[str, list[str]] = {split: [] for split in settings.split_names}
    counts = dict.fromkeys(settings.split_names, 0)
    for summary in summaries:
        for split, path in summary.shards.items():
            if summary.counts.get(split):
                shards[split].append(path)
                counts[split] += summary.counts[split]
    order = settings.column_order or list(kinds or {})
    schema = pa.schema([(n, columns.arrow_type((kinds or {}).get(n, "bytes"))) for n in order])
    for split, paths in shards.items():
        if not paths:
            logger.warning("split '%s' received no rows", split)
            empty = writing.shard_path(settings.work_dir, split, 99999, settings.output_format)
            writing.write_empty(empty, settings.output_format, schema)
            paths.append(empty)
    writing.publish_shards(examples.uri, shards, settings.output_format)
    quarantined = sum(s.bad_rows for s in summaries)
    if quarantined:
        target = os.path.join(examples.uri, "quarantine.jsonl")
        with storage.create(target) as out:
            for summary in summaries:
                if summary.quarantine:
                    with storage.open_read(summary.quarantine) as part:
                        shutil.copyfileobj(part, out)
        logger.warning("%d bad row(s) set aside in %s", quarantined, target)
    if kinds is not None and settings.source != "tfrecord":
        # Records ExampleGen encoded itself: a reader may rely on these kinds (and on a flat
        # column holding one value or none per row) to parse them (conveyor.data.tf_parsing).
        # Records imported as they were (ImportExampleGen) promise neither.
        examples.custom_properties["feature_kinds"] = json.dumps(dict(sorted(kinds.items())))
    examples.custom_properties.update({
        "file_format": writing.FILE_FORMATS[settings.output_format],
        "payload_format": _PAYLOAD_FORMATS[settings.output_format],
        "row_counts": json.dumps(counts),
        "quarantined_rows": quarantined,
    })
    logger.info("wrote %s", ", ".join(f"{n} rows to {s}" for s, n in counts.items()))


