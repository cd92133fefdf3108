"""StatisticsGen's executor: TFDV statistics of every split, computed in process or on Beam.

Two engines, one result. Both run TFDV's own statistics generators with the same
:func:`stats_options` over the same record batches (:mod:`conveyor.data.examples`):

- **in process** (:func:`compute_in_process`), chosen when the data is processed on this machine:
  the Beam options select the DirectRunner (or no runner) and not its ``multi_processing`` mode.
  It streams the split batch by batch through TFDV's combiner API, the same calls Beam's
  ``CombineFn`` makes: ``create_accumulator`` once per generator, ``add_input`` per batch (each
  batch folds into the accumulators and is dropped, so memory stays bounded by one batch and
  the generators' sketches), then ``compact`` + ``extract_output`` and TFDV's
  ``merge_dataset_feature_statistics`` (``stats_impl.extract_statistics_output``). No Beam
  pipeline to build, and nothing pickled between stages.
- **Beam** (:func:`compute_with_beam`), for every other runner (Dataflow, Flink, Spark, a
  multi-process DirectRunner): one pipeline reading each split with tfx-bsl's TFXIO into
  ``tfdv.GenerateStatistics`` and ``tfdv.WriteStatisticsToBinaryFile``, as TFX's StatisticsGen.

TFDV's in-memory generator list uses the sketch-based top-k/uniques generator, while its Beam
default is the exact one; :func:`stats_options` asks for the sketch on both, so the engines agree
(exactly on counts and top values below the sketch sizes, 1024 heavy hitters and 16384 distinct
values; quantile histograms agree within the sketch's epsilon, as merge order differs).

Reading TFRecords in process: when ExampleGen recorded flat feature kinds on the Examples
(``feature_kinds``), TensorFlow's parser decodes them (:mod:`conveyor.data.tf_parsing`, the same
record batches as tfx-bsl's decoder, which remains the fallback); the ``decoder`` custom property
says which was used.

Measured with ``bench/data.py`` (1M rows x 12 columns, 2 cores shared with other work at a load
of ~6, so wall times are inflated and CPU seconds are the steadier figure; after imports, TFDV's
import alone takes ~6 s; medians of 3, writing ``stats.html`` included):

========================================  =========  ===========  ===================
Examples payload, decoder                 wall       CPU seconds  x floor (same load)
========================================  =========  ===========  ===================
Parquet (pyarrow)                         5.3 s      2.1          2.9
TFRecord, TensorFlow's parser             18.9 s     6.6          10.4
TFRecord, tfx-bsl's decoder               36.2 s     15.6         19.9
========================================  =========  ===========  ===================

(The Beam engine on the TFRecords, as TFX runs it, took 34 s on an unloaded machine earlier.)

Where the CPU goes per 1M examples: TFDV's generators ~1.2-1.4 s whatever the payload (most of
it in tfx-bsl's quantiles sketch, which holds the GIL: two threads feeding two sets of
accumulators took as long as one, and ``epsilon`` or bucket counts do not change it); reading
gzipped TFRecords with tf.data ~1.5-2 s (inflating ~1 s, ~0.5 µs of framing per record);
TensorFlow's parser plus building Arrow ~1.8 s, on TensorFlow's threads, overlapping TFDV's
work on this thread; tfx-bsl's decoder instead ~8-10 s on this thread. Peak memory stays
~100-150 MB above what the libraries take.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import pyarrow as pa
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.statistics import stats_impl
from tensorflow_metadata.proto.v0 import statistics_pb2

from conveyor.artifacts import Examples, ExampleStatistics
from conveyor.components.validate import views
from conveyor.data import layout, tf_parsing
from conveyor.data.examples import (
    SplitFiles,
    find_split_files,
    read_batches,
)
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError
from conveyor.runtime.beam_options import pipeline_options

Engine = Literal["auto", "in_process", "beam"]

_DIRECT_RUNNERS = {"direct", "directrunner", "bundlebaseddirectrunner", "switchingdirectrunner",
                   "fnapirunner"}


def stats_options() -> tfdv.StatsOptions:
    """The TFDV options both engines use (TFDV defaults, sketch-based top-k on Beam too)."""
    return tfdv.StatsOptions(use_sketch_based_topk_uniques=True)


def runs_in_process(beam_args: Sequence[str]) -> bool:
    """Whether ``beam_args`` keep the work on this machine in one process: no runner or the
    DirectRunner, in its ``in_memory`` (default) or ``multi_threading`` mode."""
    from apache_beam.options.pipeline_options import (
        DirectOptions,
        PipelineOptions,
        StandardOptions,
    )

    options = PipelineOptions(list(beam_args))
    runner = options.view_as(StandardOptions).runner
    if runner is not None and str(runner).lower() not in _DIRECT_RUNNERS:
        return False
    return bool(options.view_as(DirectOptions).direct_running_mode != "multi_processing")


def compute_in_process(batches: Iterable[pa.RecordBatch],
                       options: tfdv.StatsOptions | None = None
                       ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Statistics of ``batches`` with TFDV's in-memory generators, one batch at a time."""
    options = options or stats_options()
    generators = stats_impl.get_generators(options, in_memory=True)
    for generator in generators:
        generator.setup()
    accumulators = [g.create_accumulator() for g in generators]
    for batch in batches:
        accumulators = [g.add_input(acc, batch) for g, acc in zip(generators, accumulators,
                                                                  strict=True)]
    result: statistics_pb2.DatasetFeatureStatisticsList = \
        stats_impl.extract_statistics_output(accumulators, generators)
    if not result.datasets:
        result.datasets.add()  # as Beam's placeholder for an empty input: zero examples
    return result


def compute_with_beam(sources: Mapping[str, SplitFiles], output_uri: str,
                      beam_args: Sequence[str],
                      options: tfdv.StatsOptions | None = None) -> None:
    """Write the statistics of every split in ``sources`` under ``output_uri`` with one Beam
    pipeline, as TFX's StatisticsGen does."""
    import apache_beam as beam

    from conveyor.data.examples import beam_source

    options = options or stats_options()
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        for split, files in sources.items():
            os.makedirs(layout.split_dir(output_uri, split), exist_ok=True)
            path = os.path.join(layout.split_dir(output_uri, split), layout.STATISTICS_FILE)
            _ = (pipeline
                 | f"Read[{split}]" >> beam_source(files)
                 | f"GenerateStatistics[{split}]" >> tfdv.GenerateStatistics(options)
                 | f"Write[{split}]" >> tfdv.WriteStatisticsToBinaryFile(path))


def write_html(output_uri: str, split: str,
               statistics: statistics_pb2.DatasetFeatureStatisticsList) -> str:
    """Write ``stats.html`` of ``split``: an offline summary and TFDV's Facets view."""
    facets = tfdv.get_statistics_html(statistics, lhs_name=split)
    path = os.path.join(layout.split_dir(output_uri, split), layout.STATISTICS_HTML)
    with open(path, "w", encoding="utf-8") as f:
        f.write(views.statistics_page(split, statistics, facets))
    return path


def run(examples: Examples, statistics: ExampleStatistics, exclude_splits: list[str],
        engine: Engine, context: ExecutionContext) -> None:
    """Executor of StatisticsGen: statistics and ``stats.html`` for every split."""
    splits = layout.select_splits(examples, exclude_splits, "Examples")
    sources = {split: find_split_files(examples.uri, split) for split in splits}
    on_beam = engine == "beam" or (engine == "auto"
                                   and not runs_in_process(context.beam_args))
    started = time.monotonic()
    if on_beam:
        context.logger.info("computing statistics of %s on Beam (%s)", ", ".join(splits),
                            " ".join(context.beam_args) or "default options")
        compute_with_beam(sources, statistics.uri, context.beam_args)
        decoders = {"tfxio"}
    else:
        kinds = tf_parsing.usable_kinds(examples.custom_properties)
        decoders = {decoder_of(files, kinds) for files in sources.values()}
        context.logger.info("decoding with %s", ", ".join(sorted(decoders)))
        for split, files in sources.items():
            result = _in_process_split(files, kinds)
            layout.write_statistics(statistics.uri, split, result)
            context.logger.info("split %s: %d examples, %d features (%.2fs)", split,
                                result.datasets[0].num_examples,
                                len(result.datasets[0].features), time.monotonic() - started)
    for split in splits:
        write_html(statistics.uri, split, layout.read_statistics(statistics.uri, split))
    statistics.span = examples.span
    statistics.split_names = splits
    statistics.custom_properties["engine"] = "beam" if on_beam else "in_process"
    statistics.custom_properties["decoder"] = ",".join(sorted(decoders))


def decoder_of(files: SplitFiles, kinds: Mapping[str, str] | None) -> str:
    """How the in-process engine reads ``files``: ``parquet`` (pyarrow), ``tensorflow``
    (TensorFlow's parser, with tfx-bsl's decoder as fallback; given ExampleGen's flat ``kinds``)
    or ``tfx_bsl`` (tfx-bsl's decoder)."""
    if files.payload == "parquet":
        return "parquet"
    return "tensorflow" if kinds else "tfx_bsl"


def _in_process_split(files: SplitFiles, kinds: Mapping[str, str] | None,
                      ) -> statistics_pb2.DatasetFeatureStatisticsList:
    try:
        return compute_in_process(read_batches(files, kinds=kinds))
    except (TypeError, ValueError, pa.ArrowException) as err:
        # TFDV raises these when a feature's type changes between batches.
        raise DataError(f"split '{files.split}' in {files.directory}: TFDV cannot compute "
                        f"statistics: {str(err).rstrip('.')}. A feature must keep one type in "
                        f"every file") from err
