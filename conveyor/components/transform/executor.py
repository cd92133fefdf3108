"""Transform's executor: tf.Transform analysis and transformation in one Beam pipeline.

One pipeline, as TFX's Transform builds it:

1. every split of every Examples artifact is read with tfx-bsl's TFXIO
   (``TFExampleRecord(file_pattern, schema=...)``), so rows arrive as Arrow record batches typed
   by the schema, in batches of a fixed size (:data:`RECORD_BATCH_ROWS`: the same data give
   the same bytes however fast the machine is); Parquet Examples are read with Beam's Parquet
   reader and given the same columns and types (:func:`conform`);
2. the analysis splits go to ``tft_beam.AnalyzeDatasetWithCache``, one dataset per split of each
   artifact (see :mod:`.cache` for the keys). With an ``analyzer_cache``,
   ``get_analysis_dataset_keys`` tells which datasets still need reading: a dataset whose every
   analyzer is cached is not read at all;
3. ``WriteTransformFn`` writes the tf.Transform output directory into the TransformGraph
   (``transform_fn/``, ``transformed_metadata/``; the raw schema goes to ``metadata/``, as TFX
   writes it), ``WriteAnalysisCacheToFS`` the updated cache;
4. each transform split goes through ``TransformDataset`` and is written as gzipped TFRecords
   of tf.Example under ``Split-<name>/``, the layout ExampleGen writes.

The runner is whatever the run's ``beam_args`` choose (default: Beam's in-process
FnApiRunner, see :mod:`conveyor.runtime.beam_options`). Before Beam starts, the
``preprocessing_fn`` is traced once (:func:`.user_code.check_traces`), so its mistakes fail
fast with a clear error.

Measured with ``bench/model.py`` (12 synthetic columns; eight z-scores, a decile bucketization,
vocabularies of 5 / ~100 / ~10,000 values; analyse train, transform train and eval; in-process
FnApiRunner; 2 cores, otherwise idle): 100k rows 21.7 s (20.6 CPU s), 1M rows 81 s (80 CPU s),
peak memory 1.5 GB of which 0.7 GB is the libraries. Much of the 100k figure is fixed: building
tf.Transform's Beam graph and tracing the function. The ``multi_threading`` mode (2 workers)
was about as fast at 100k (20.1 s) and used more memory (1.3 GB against 1.0 GB). Before Beam's
DirectRunner was replaced by the FnApiRunner (:mod:`conveyor.runtime.beam_options`) the same
bench, on a busier machine, took 43 s and 242 s.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from conveyor.artifacts import Examples, Schema, TransformCache, TransformGraph
from conveyor.components.transform import cache
from conveyor.components.transform.user_code import GuardedFn, check_traces, load_preprocessing_fn
from conveyor.data import layout
from conveyor.data.examples import SplitFiles, beam_source, find_split_files
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError
from conveyor.runtime.beam_options import pipeline_options

#: Prefix of the transformed TFRecord shards (as ExampleGen names its own).
SHARD_PREFIX = "data_tfrecord"
#: Rows per record batch read from TFRecord Examples. Fixed, because analyzers fold batches into
#: float accumulators (a z-score's mean and variance), so where batches end moves the last bits
#: of the results; left to tfx-bsl, batch sizes follow Beam's ``BatchElements``, which grows them
#: by how long earlier batches took, so the same data transformed twice (another machine, a busy
#: core) gave z-scores a few ulps apart. 1,000 is the size that tuning works up to.
RECORD_BATCH_ROWS = 1_000
_TELEMETRY = ["conveyor", "Transform"]


@dataclass(frozen=True)
class _Dataset:
    """One split of one input Examples artifact."""

    split: str
    span: int
    version: int
    files: SplitFiles
    key: str


def run(*, examples: list[Examples], schema: Schema, module_file: str | None,
        preprocessing_fn: str | None, splits_config: dict[str, list[str]] | None,
        custom_config: dict[str, Any], transform_graph: TransformGraph,
        transformed_examples: Examples, updated_analyzer_cache: TransformCache,
        context: ExecutionContext, analyzer_cache: TransformCache | None = None) -> None:
    """Executor of Transform (see the module docstring)."""
    if not examples:
        raise DataError("Transform received no Examples artifact")
    analyze_splits, transform_splits = _splits(examples, splits_config or {})
    fn = load_preprocessing_fn(module_file, preprocessing_fn, custom_config)
    raw_schema = layout.read_schema(schema.uri)
    datasets = {split: [_dataset(e, split, with_key=split in analyze_splits) for e in examples]
                for split in dict.fromkeys([*analyze_splits, *transform_splits])}
    report = _run_pipeline(fn, raw_schema, datasets, analyze_splits, transform_splits,
                           analyzer_cache.uri if analyzer_cache is not None else None,
                           transform_graph.uri, transformed_examples.uri,
                           updated_analyzer_cache.uri, context)
    newest = max(examples, key=lambda e: (e.span or 0, e.version or 0))
    transformed_examples.span = newest.span or 0
    transformed_examples.version = newest.version or 0
    transformed_examples.split_names = transform_splits
    transformed_examples.custom_properties.update({
        "file_format": "tfrecords_gzip", "payload_format": "FORMAT_TF_EXAMPLE",
        "spans": json.dumps(sorted({e.span or 0 for e in examples}))})
    transform_graph.custom_properties.update({
        "analyze_splits": json.dumps(analyze_splits),
        "analyzed_datasets": json.dumps(report["analyzed"]),
        "cached_datasets": json.dumps(report["cached"]),
        "summary": f"analysed {', '.join(analyze_splits)}: {len(report['analyzed'])} "
                   f"dataset(s) read, {len(report['cached'])} from the analyzer cache"})
    updated_analyzer_cache.custom_properties["dataset_keys"] = json.dumps(
        cache.cached_keys(updated_analyzer_cache.uri))
    context.logger.info("analysed %s (read: %s; from cache: %s); transformed %s",
                        ", ".join(analyze_splits), ", ".join(report["analyzed"]) or "none",
                        ", ".join(report["cached"]) or "none", ", ".join(transform_splits))


def _splits(examples: Sequence[Examples],
            config: Mapping[str, list[str]]) -> tuple[list[str], list[str]]:
    available = [s for s in layout.split_names(examples[0])
                 if all(s in layout.split_names(e) for e in examples)]
    analyze = list(config.get("analyze") or ["train"])
    transform = list(config.get("transform") or available)
    for role, chosen in (("analyze", analyze), ("transform", transform)):
        missing = [s for s in chosen if s not in available]
        if missing:
            raise DataError(
                f"Transform splits_config['{role}'] names split(s) {', '.join(missing)}, but "
                f"the Examples ({', '.join(e.uri for e in examples)}) hold "
                f"{', '.join(available) or 'no split'}; choose among those")
    return analyze, transform


def _dataset(examples: Examples, split: str, *, with_key: bool) -> _Dataset:
    files = find_split_files(examples.uri, split)
    span, version = examples.span or 0, examples.version or 0
    key = cache.dataset_key_name(split, span, version, files) if with_key else ""
    return _Dataset(split, span, version, files, key)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A record batch read from Parquet (list columns, :func:`~conveyor.data.examples.
    as_list_columns`) with the columns and types TFXIO gives tf.Examples of the same schema:
    floats narrowed to float32, a column the file lacks all null (every value missing)."""
    arrays = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(index)
        if pa.types.is_null(column.type):
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        try:
            arrays.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise DataError(f"Parquet column '{field.name}' of type {column.type} does not "
                            f"match its schema type ({field.type}): {err}") from err
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _run_pipeline(fn: GuardedFn, raw_schema: Any, datasets: Mapping[str, list[_Dataset]],
                  analyze_splits: Sequence[str], transform_splits: Sequence[str],
                  input_cache_uri: str | None, graph_uri: str, output_uri: str,
                  output_cache_uri: str, context: ExecutionContext) -> dict[str, list[str]]:
    import apache_beam
    import tensorflow_transform.beam
    from tensorflow_transform.beam import analysis_graph_builder, analyzer_cache
    from tfx_bsl.public import tfxio

    # Beam's and tf.Transform's transforms are untyped.
    beam: Any = apache_beam
    tft_beam: Any = tensorflow_transform.beam
    graph_builder: Any = analysis_graph_builder

    def tf_examples(dataset: _Dataset) -> Any:
        return tfxio.TFExampleRecord(file_pattern=dataset.files.patterns(), schema=raw_schema,
                                     telemetry_descriptors=_TELEMETRY)

    def source(dataset: _Dataset) -> Any:
        if dataset.files.payload == "tfrecord":
            return tf_examples(dataset).BeamSource(batch_size=RECORD_BATCH_ROWS)
        arrow_schema = tf_examples(dataset).ArrowSchema()
        return beam_source(dataset.files) | f"Conform[{dataset.files.directory}]" >> beam.Map(
            conform, arrow_schema)

    first = next(iter(datasets.values()))[0]
    try:
        adapter_config = tf_examples(first).TensorAdapterConfig()
    except ValueError as err:
        raise DataError(f"Transform: the schema cannot describe the raw features as tensors: "
                        f"{err}. Fix the schema (e.g. ImportSchemaGen with a curated one)") \
            from err
    specs = tfxio.TensorAdapter(adapter_config).OriginalTypeSpecs()
    temp_dir = os.path.join(context.scratch_dir, "tft_tmp")
    os.makedirs(temp_dir, exist_ok=True)
    check_traces(fn, specs, temp_dir)

    to_analyze = [d for split in analyze_splits for d in datasets[split]]
    keys = {d.key: analyzer_cache.DatasetKey(d.key) for d in to_analyze}
    reused = [k for k in cache.cached_keys(input_cache_uri) if k in keys]
    if reused:
        cache.copy_entries(str(input_cache_uri), output_cache_uri, reused)
    os.makedirs(output_cache_uri, exist_ok=True)
    with tft_beam.Context(temp_dir=temp_dir, force_tf_compat_v1=False), \
            beam.Pipeline(options=pipeline_options(context.beam_args)) as pipeline:
        input_cache: Any = {}
        if reused:
            input_cache = pipeline | "ReadCache" >> analyzer_cache.ReadAnalysisCacheFromFS(
                str(input_cache_uri), [keys[k] for k in reused])
        # Without cached entries every dataset is read; asking would trace the function again.
        needed = set(keys.values()) if not reused else graph_builder.get_analysis_dataset_keys(
            fn, specs, list(keys.values()), input_cache, False)
        read: dict[str, Any] = {}

        def records(dataset: _Dataset) -> Any:
            name = f"{dataset.split}-span{dataset.span}-{dataset.files.directory}"
            if name not in read:
                read[name] = pipeline | f"Read[{name}]" >> source(dataset)
            return read[name]

        analysis_input = {keys[d.key]: records(d) if keys[d.key] in needed else None
                          for d in to_analyze}
        transform_fn, output_cache = (
            (analysis_input, input_cache, adapter_config)
            | "Analyze" >> tft_beam.AnalyzeDatasetWithCache(fn, pipeline=pipeline))
        _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(graph_uri)
        if output_cache:
            _ = output_cache | "WriteCache" >> analyzer_cache.WriteAnalysisCacheToFS(
                pipeline, output_cache_uri, list(keys.values()))
        for split in transform_splits:
            _write_split(split, [records(d) for d in datasets[split]], adapter_config,
                         transform_fn, output_uri)
    _write_raw_metadata(raw_schema, graph_uri)
    analyzed = sorted(k for k, v in keys.items() if v in needed)
    return {"analyzed": analyzed, "cached": sorted(k for k in keys if k not in analyzed)}


def _write_raw_metadata(raw_schema: Any, graph_uri: str) -> None:
    """The raw data's schema under ``{graph_uri}/metadata``, as TFX's Transform writes it:
    ``TFTransformOutput.raw_feature_spec()`` reads it (a Trainer parses serving requests with
    it)."""
    from tensorflow_transform.output_wrapper import TFTransformOutput
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

    writer: Any = metadata_io  # untyped
    writer.write_metadata(dataset_metadata.DatasetMetadata(raw_schema),
                          os.path.join(graph_uri, TFTransformOutput.RAW_METADATA_DIR))


def _write_split(split: str, inputs: list[Any], adapter_config: Any, transform_fn: Any,
                 output_uri: str) -> None:
    import apache_beam
    import tensorflow_transform.beam
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    beam: Any = apache_beam
    tft_beam: Any = tensorflow_transform.beam

    def encode(batch_and_passthrough: tuple[Any, Any]) -> list[bytes]:
        batch, _ = batch_and_passthrough
        encoded: list[bytes] = RecordBatchToExamplesEncoder().encode(batch)
        return encoded

    merged = (inputs[0] if len(inputs) == 1
              else tuple(inputs) | f"Flatten[{split}]" >> beam.Flatten())
    transformed, _ = (((merged, adapter_config), transform_fn)
                      | f"Transform[{split}]" >> tft_beam.TransformDataset(
                          output_record_batches=True))
    directory = layout.split_dir(output_uri, split)
    os.makedirs(directory, exist_ok=True)
    _ = (transformed
         | f"Encode[{split}]" >> beam.FlatMap(encode)
         | f"Write[{split}]" >> beam.io.WriteToTFRecord(
             os.path.join(directory, SHARD_PREFIX), file_name_suffix=".gz"))

