"""Evaluator's executor: predictions by :func:`~conveyor.models.predict.load_predictor`, metrics,
slices and threshold checks by TFMA, blessing from TFMA's validation result.

1. The examples of ``example_splits`` are read (TFRecord or Parquet) and serialized as
   ``tf.train.Example``; the candidate (and the baseline, when resolved) predict them.
2. A DataFrame holds the slicing features, the label (as a class index for classification) in
   column :data:`LABEL`, and each model's output in :data:`CANDIDATE` / :data:`BASELINE`
   (the probability vector, or the regression value). Examples without a label are left out
   (the blessing says how many).
3. The eval config is completed to read those columns (:mod:`.tfma_config`).
4. TFMA's ``ExtractEvaluateAndWriteResults`` runs on Beam (the run's ``beam_args``) over the
   DataFrame as one Arrow record batch, the two models as materialized predictions, and writes
   its metrics, plots, validations and ``eval_config.json`` into ``evaluation.uri``.
5. The blessing follows ``tfma.load_validation_result`` (:mod:`.results`, worded by
   :mod:`.verdict`); the per-slice report is written by :mod:`.report`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from conveyor.artifacts import SUMMARY, Examples, Model, ModelBlessing, ModelEvaluation, Schema
from conveyor.components.evaluator import verdict
from conveyor.components.evaluator.config import has_change_thresholds
from conveyor.components.evaluator.report import Summary, write_report
from conveyor.components.evaluator.results import BASELINE_NAME, CANDIDATE_NAME, summarize
from conveyor.components.evaluator.tfma_config import (
    BASELINE,
    CANDIDATE,
    LABEL,
    complete_config,
)
from conveyor.data import layout
from conveyor.data.examples import find_split_files, float32_lists, read_batches
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError, MissingDependencyError, did_you_mean
from conveyor.models.format import ModelInfo
from conveyor.models.predict import Predictor, examples_to_frame, load_predictor
from conveyor.runtime.beam_options import pipeline_options

BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"


def _import_tfma() -> Any:
    try:
        import tensorflow_model_analysis as tfma
    except ImportError as err:
        raise MissingDependencyError(
            f"the Evaluator needs tensorflow-model-analysis==0.47.1, a dependency of conveyor, "
            f"which does not import ({err}); reinstall conveyor") from err
    if not hasattr(tfma, "ExtractEvaluateAndWriteResults"):  # TFMA hides its ImportErrors
        raise MissingDependencyError(
            "tensorflow_model_analysis imported empty (it swallows its own ImportError, "
            "typically a missing 'tf-keras'); install tf-keras==2.16.0")
    return tfma


def read_examples(examples: Examples, splits: Sequence[str]) -> tuple[list[bytes], pa.Table]:
    """The examples of ``splits`` as serialized ``tf.train.Example`` and as the Arrow table of
    list columns they decode to (same order)."""
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    available = layout.split_names(examples)
    serialized: list[bytes] = []
    batches: list[pa.RecordBatch] = []
    for split in splits:
        if available and split not in available:
            raise DataError(f"Examples at {examples.uri} have no split '{split}'."
                            f"{did_you_mean(split, available)} Splits: {', '.join(available)}; "
                            f"set example_splits")
        for batch in read_batches(find_split_files(examples.uri, split)):
            batch = float32_lists(batch)
            serialized.extend(RecordBatchToExamplesEncoder().encode(batch))
            batches.append(batch)
    if not serialized:
        raise DataError(f"splits {', '.join(splits)} of the Examples at {examples.uri} hold no "
                        f"example to evaluate on")
    return serialized, pa.concat_tables([pa.Table.from_batches([b]) for b in batches],
                                        promote=True)


def _labelled(table: pa.Table, serialized: list[bytes], label_key: str, info: ModelInfo,
              where: str, notes: list[str]) -> tuple[pa.Table, list[bytes], NDArray[Any]]:
    """The examples that have a label, and their labels (class indices for classification).
    Unlabelled examples are left out, and a note says how many."""
    values = examples_to_frame_from_table(table, [label_key])[label_key]
    present = values.notna().to_numpy()
    if not present.any():
        raise DataError(f"none of the {len(values)} examples ({where}) has a value for the label "
                        f"'{label_key}'; evaluate on labelled data")
    if not present.all():
        notes.append(f"{int((~present).sum())} of {len(values)} examples have no "
                     f"'{label_key}' label and were left out")
        table = table.filter(pa.array(present))
        serialized = [s for s, keep in zip(serialized, present, strict=True) if keep]
        values = values[present]
    if info.task == "classification":
        return table, serialized, np.asarray([info.class_index(v) for v in values],
                                             dtype=np.int64)
    return table, serialized, np.asarray(values, dtype=np.float64)


def examples_to_frame_from_table(table: pa.Table, names: Sequence[str]) -> pd.DataFrame:
    """Columns ``names`` of a table of list columns, one value per cell (missing when absent).

    Integer features stay integers even with missing values (pandas' nullable ``Int64``), so
    a slice reads ``year=2007`` rather than ``year=2007.0`` and integer labels match the
    model's classes.
    """
    frame: pd.DataFrame = examples_to_frame(_serialize(table.select(list(names))), list(names))
    for name in names:
        kind = table.schema.field(name).type
        value_type = kind.value_type if hasattr(kind, "value_type") else kind
        if pa.types.is_integer(value_type) and frame[name].dtype != np.int64:
            frame[name] = frame[name].astype("Int64")
    return frame


def _serialize(table: pa.Table) -> list[bytes]:
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    encoder = RecordBatchToExamplesEncoder()
    return [record for batch in table.to_batches() for record in encoder.encode(batch)]


def _prediction_column(predictor: Predictor, serialized: Sequence[bytes]) -> list[Any]:
    output = predictor.predict(serialized)[predictor.info.output_key]
    if predictor.info.task == "classification":
        return list(output.astype(np.float32))
    return list(output.astype(np.float32).reshape(-1))


def _run_tfma(tfma: Any, proto: Any, frame: pd.DataFrame, output: str, models: Sequence[str],
              beam_args: Sequence[str]) -> None:
    import apache_beam as beam
    from tensorflow_model_analysis import constants
    from tfx_bsl.arrow import table_util

    batch = table_util.CanonicalizeRecordBatch(pa.RecordBatch.from_pandas(frame,
                                                                          preserve_index=False))
    shared = [tfma.types.EvalSharedModel(model_path="", model_name=name,
                                         model_type=constants.MATERIALIZED_PREDICTION,
                                         is_baseline=name == BASELINE_NAME)
              for name in models]
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        _ = (pipeline
             | "Examples" >> beam.Create([batch])  # type: ignore[no-untyped-call]
             | "Evaluate" >> tfma.ExtractEvaluateAndWriteResults(
                 eval_config=proto, eval_shared_model=shared if len(shared) > 1 else None,
                 output_path=output))


def evaluate(*, examples: Examples, model: Model, evaluation: ModelEvaluation,
             blessing: ModelBlessing, eval_config: dict[str, Any], example_splits: list[str],
             context: ExecutionContext, baseline_model: Model | None = None,
             schema: Schema | None = None) -> None:
    """Executor of the Evaluator (see the module docstring)."""
    where = f"node '{context.node_id}'"
    candidate = load_predictor(model.uri)
    info = candidate.info
    baseline = load_predictor(baseline_model.uri) if baseline_model is not None else None
    if baseline is not None and (baseline.info.task, baseline.info.classes) != \
            (info.task, info.classes):
        raise DataError(f"the baseline model {baseline_model.uri if baseline_model else ''} "
                        f"({baseline.info.task}, classes {baseline.info.classes}) does not "
                        f"answer the candidate's question ({info.task}, classes {info.classes})")
    notes: list[str] = []
    if baseline is None:
        context.logger.info("no baseline model: change thresholds are skipped")
        notes.append(verdict.NO_BASELINE + (": change thresholds skipped"
                                            if has_change_thresholds(eval_config) else ""))
    tfma = _import_tfma()
    serialized, table = read_examples(examples, example_splits)
    proto, label_key = complete_config(
        tfma, eval_config, info, has_baseline=baseline is not None,
        columns=table.column_names, schema=schema, where=where)
    table, serialized, labels = _labelled(table, serialized, label_key, info, where, notes)
    slicing = sorted({k for s in proto.slicing_specs
                      for k in [*s.feature_keys, *s.feature_values]})
    frame = examples_to_frame_from_table(table, slicing) if slicing else pd.DataFrame(
        index=range(table.num_rows))
    frame[LABEL] = labels
    frame[CANDIDATE] = _prediction_column(candidate, serialized)
    models = [CANDIDATE_NAME]
    if baseline is not None:
        frame[BASELINE] = _prediction_column(baseline, serialized)
        models.append(BASELINE_NAME)
    context.logger.info("evaluating %d examples of %s with TFMA", len(frame),
                        ", ".join(example_splits))
    _run_tfma(tfma, proto, frame, evaluation.uri, models, context.beam_args)

    summary = summarize(tfma, proto, evaluation.uri, info, notes, model=model.uri,
                        baseline=baseline_model.uri if baseline_model is not None else None)
    write_report(evaluation.uri, summary)
    _record(evaluation, blessing, summary, model, baseline_model if baseline else None)
    context.logger.info("%s: %s", "BLESSED" if summary.blessed else "NOT BLESSED",
                        summary.reason)


def _record(evaluation: ModelEvaluation, blessing: ModelBlessing, summary: Summary,
            model: Model, baseline: Model | None) -> None:
    worst = summary.rows[0] if summary.rows else None
    value = worst.metrics.get(summary.main_metric) if worst else None
    evaluation.custom_properties.update({
        "main_metric": summary.main_metric,
        "slices": len(summary.rows),
        SUMMARY: (f"worst slice by {summary.main_metric}: {worst.slice} "
                  f"({'n/a' if value is None else f'{value:.4g}'}); per slice: report.html, "
                  f"slices.png" if worst else "no slices"),
    })
    open(os.path.join(blessing.uri, BLESSED_FILE if summary.blessed else NOT_BLESSED_FILE),
         "w", encoding="utf-8").close()
    # One line for the run's table: the verdict's first line and, when it lists failed
    # thresholds (in reading order, Overall first), the first of them.
    first_line, *listed = summary.reason.splitlines()
    if listed and listed[0].startswith("  "):
        first_line = f"{first_line.rstrip(':')}, first: {listed[0].strip()}"
    blessing.custom_properties.update({
        "blessed": 1 if summary.blessed else 0,
        "current_model": model.uri,
        "current_model_id": model.id if model.id is not None else -1,
        "baseline_model": baseline.uri if baseline is not None else "",
        "baseline_model_id": baseline.id if baseline is not None and baseline.id is not None
        else -1,
        "reason": summary.reason,
        SUMMARY: f"{'BLESSED' if summary.blessed else 'NOT BLESSED'}: {first_line}",
    })
