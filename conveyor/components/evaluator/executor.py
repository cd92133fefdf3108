"""Evaluator's executor: predictions by :func:`~conveyor.models.predict.load_predictor`, metrics,
slices and threshold checks by TFMA, blessing from TFMA's validation result.

1. The examples of ``example_splits`` are read (TFRecord or Parquet) and serialized as
   ``tf.train.Example``; the candidate (and the baseline, when resolved) predict them.
2. A DataFrame holds the slicing features, the label (as a class index for classification) in
   column :data:`LABEL`, and each model's output in :data:`CANDIDATE` / :data:`BASELINE`
   (the probability vector, or the regression value).
3. The eval config is completed: one candidate model spec reading those columns (its
   ``labelKey``, or the model's label, names the label feature), a baseline spec copied from it
   when there is a baseline (TFMA's ``update_eval_config_with_defaults``), per-class specs with
   empty class ids filled with every class, change thresholds removed when there is no
   baseline (noted in the blessing), the whole data set as the slice when none is given.
4. TFMA's ``ExtractEvaluateAndWriteResults`` runs on Beam (the run's ``beam_args``) over the
   DataFrame as one Arrow record batch, the two models as materialized predictions, and writes
   its metrics, plots, validations and ``eval_config.json`` into ``evaluation.uri``.
5. The blessing follows ``tfma.load_validation_result`` (see :mod:`.verdict`); the per-slice
   report is written by :mod:`.report`.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from conveyor.artifacts import SUMMARY, Examples, Model, ModelBlessing, ModelEvaluation, Schema
from conveyor.components.evaluator import verdict
from conveyor.components.evaluator.config import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    get,
    thresholded_metrics,
)
from conveyor.components.evaluator.config import eval_config as build_config
from conveyor.components.evaluator.report import SliceRow, Summary, sort_worst_first, write_report
from conveyor.data import layout
from conveyor.data.examples import find_split_files, read_batches
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError, ExecutionError, MissingDependencyError, did_you_mean
from conveyor.models.format import ModelInfo
from conveyor.models.predict import Predictor, examples_to_frame, load_predictor

#: Columns the Evaluator adds next to the slicing features.
LABEL, CANDIDATE, BASELINE = "_conveyor_label", "_conveyor_candidate", "_conveyor_baseline"
#: TFMA's model names (``tfma.CANDIDATE_KEY``, ``tfma.BASELINE_KEY``).
CANDIDATE_NAME, BASELINE_NAME = "candidate", "baseline"
BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"


def _import_tfma() -> Any:
    try:
        import tensorflow_model_analysis as tfma
    except ImportError as err:
        raise MissingDependencyError.for_module("tensorflow-model-analysis", "tfx",
                                                "the Evaluator") from err
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
            batch = as_example_values(batch)
            serialized.extend(RecordBatchToExamplesEncoder().encode(batch))
            batches.append(batch)
    if not serialized:
        raise DataError(f"splits {', '.join(splits)} of the Examples at {examples.uri} hold no "
                        f"example to evaluate on")
    return serialized, pa.concat_tables([pa.Table.from_batches([b]) for b in batches],
                                        promote=True)


def as_example_values(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with float64 lists cast to float32, the only float a tf.Example holds (and the
    only one tfx-bsl's encoder takes; Parquet Examples keep float64)."""
    columns = []
    for column in batch.columns:
        kind = column.type
        if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) \
                and pa.types.is_float64(kind.value_type):
            column = column.cast(pa.large_list(pa.float32()))
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, batch.schema.names)


def _check_features(names: Sequence[str], columns: Sequence[str], schema: Schema | None,
                    what: str, where: str) -> None:
    known = list(columns)
    schema_features: list[str] = []
    if schema is not None:
        schema_features = [f.name for f in layout.read_schema(schema.uri).feature]
    for name in names:
        if name not in known:
            raise DataError(f"{what} '{name}' is not a feature of the examples ({where}).'"
                            f"{did_you_mean(name, known)} Features: {', '.join(known)}")
        if schema is not None and name not in schema_features:
            raise DataError(f"{what} '{name}' is not in the schema at {schema.uri}."
                            f"{did_you_mean(name, schema_features)}")


def complete_config(tfma: Any, config: Mapping[str, Any], info: ModelInfo, *,
                    has_baseline: bool, columns: Sequence[str], schema: Schema | None,
                    where: str) -> tuple[Any, str]:
    """The EvalConfig proto TFMA runs (see the module docstring, step 3) and the label key."""
    from google.protobuf import json_format
    from tensorflow_model_analysis.utils import config_util

    raw = dict(config) or build_config(metrics=CLASSIFICATION_METRICS
                                       if info.task == "classification" else REGRESSION_METRICS)
    try:
        proto = json_format.ParseDict(raw, tfma.EvalConfig())
    except json_format.ParseError as err:
        raise ExecutionError(f"{where}: eval_config is not a valid tfma.EvalConfig: {err}") \
            from err
    candidates = [s for s in proto.model_specs if not s.is_baseline]
    label_key = (candidates[0].label_key if candidates else "") or info.label_key
    _check_features([label_key], columns, schema, "label", where)
    for name in (LABEL, CANDIDATE, BASELINE):
        if name in columns:
            raise DataError(f"the examples have a feature '{name}', a name the Evaluator uses "
                            f"for its own columns; rename the feature")
    spec = tfma.ModelSpec()
    if candidates:
        spec.CopyFrom(candidates[0])
    spec.name, spec.label_key, spec.prediction_key = "", LABEL, CANDIDATE
    del proto.model_specs[:]
    proto.model_specs.append(spec)
    if not proto.slicing_specs:
        proto.slicing_specs.append(tfma.SlicingSpec())
    for slicing in proto.slicing_specs:
        _check_features([*slicing.feature_keys, *slicing.feature_values], columns, schema,
                        "slicing feature", where)
    for metrics_spec in proto.metrics_specs:
        metrics_spec.ClearField("model_names")
        binarize = metrics_spec.binarize
        if binarize.HasField("class_ids") and not binarize.class_ids.values:
            if info.task != "classification":
                raise ExecutionError(f"{where}: eval_config binarizes by class, but the model is "
                                     f"a {info.task} model")
            binarize.class_ids.values.extend(range(len(info.classes or [])))
    if not has_baseline:
        _drop_change_thresholds(proto)
    proto = config_util.update_eval_config_with_defaults(proto, has_baseline=has_baseline)
    for model_spec in proto.model_specs:
        if model_spec.is_baseline:
            model_spec.prediction_key = BASELINE
    return proto, label_key


def _drop_change_thresholds(proto: Any) -> None:
    def strip(threshold: Any, parent: Any, field: str) -> None:
        if threshold.HasField("change_threshold"):
            threshold.ClearField("change_threshold")
            if not threshold.HasField("value_threshold"):
                parent.ClearField(field)

    for metrics_spec in proto.metrics_specs:
        for metric in metrics_spec.metrics:
            strip(metric.threshold, metric, "threshold")
            kept = [t for t in metric.per_slice_thresholds
                    if t.threshold.HasField("value_threshold")]
            for t in kept:
                t.threshold.ClearField("change_threshold")
            del metric.per_slice_thresholds[:]
            metric.per_slice_thresholds.extend(kept)
        for name in list(metrics_spec.thresholds):
            threshold = metrics_spec.thresholds[name]
            threshold.ClearField("change_threshold")
            if not threshold.HasField("value_threshold"):
                del metrics_spec.thresholds[name]


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
    """Columns ``names`` of a table of list columns, one value per cell (None when absent)."""
    frame: pd.DataFrame = examples_to_frame(_serialize(table.select(list(names))), list(names))
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
    from apache_beam.options.pipeline_options import PipelineOptions
    from tfx_bsl.arrow import table_util

    batch = table_util.CanonicalizeRecordBatch(pa.RecordBatch.from_pandas(frame,
                                                                          preserve_index=False))
    shared = [tfma.types.EvalSharedModel(model_path="", model_name=name,
                                         model_type=tfma.MATERIALIZED_PREDICTION
                                         if hasattr(tfma, "MATERIALIZED_PREDICTION")
                                         else "materialized_prediction",
                                         is_baseline=name == BASELINE_NAME)
              for name in models]
    with beam.Pipeline(options=PipelineOptions(list(beam_args))) as pipeline:
        _ = (pipeline
             | "Examples" >> beam.Create([batch])  # type: ignore[no-untyped-call]
             | "Evaluate" >> tfma.ExtractEvaluateAndWriteResults(
                 eval_config=proto, eval_shared_model=shared if len(shared) > 1 else None,
                 output_path=output))


def _slice_metrics(tfma: Any, uri: str, model_name: str | None,
                   classes: Sequence[str] | None) -> dict[str, dict[str, float | None]]:
    """Slice name -> metric label -> value, from TFMA's output for one model."""
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2

    result = tfma.load_eval_result(uri, model_name=model_name)
    table: dict[str, dict[str, float | None]] = {}
    for slice_key, by_output in result.slicing_metrics:
        name = verdict.slice_name(slice_key)
        row = table.setdefault(name, {})
        for by_sub_key in by_output.values():
            for sub_key_text, metrics in by_sub_key.items():
                sub_key = None
                if sub_key_text.startswith("classId:"):
                    sub_key = metrics_for_slice_pb2.SubKey()
                    sub_key.class_id.value = int(sub_key_text.split(":", 1)[1])
                for metric, value in metrics.items():
                    if metric.endswith("_diff"):
                        continue
                    row[verdict.metric_label(metric, sub_key, classes)] = verdict.finite(value)
    return table


def _main_metric(config: Mapping[str, Any], columns: Sequence[str]
                 ) -> tuple[str, bool, float | None]:
    """The metric ranking slices, whether higher is better, and its value bound if any."""
    for spec in get(config, "metrics_specs") or []:
        for metric in get(spec, "metrics") or []:
            threshold = get(metric, "threshold") or {}
            value = get(threshold, "value_threshold")
            if value is None:
                continue
            name = _output_name(metric)
            label = next((c for c in columns if c == name or c.startswith(f"{name}[")), None)
            if label is None:
                continue
            lower, upper = get(value, "lower_bound"), get(value, "upper_bound")
            higher = lower is not None
            return label, higher, float(lower if higher else upper)
    for preferred in ("accuracy", "mse"):
        if preferred in columns:
            return preferred, preferred not in LOWER_IS_BETTER, None
    others = [c for c in columns if c != "example_count"]
    return (others or list(columns) or ["example_count"])[0], True, None


def _output_name(metric: Mapping[str, Any]) -> str:
    """The name TFMA gives a metric config's results: its ``"name"`` config, else the TFMA
    default (snake case of the class name)."""
    import re

    found = re.search(r'"name"\s*:\s*"([^"]+)"', get(metric, "config") or "")
    if found:
        return found.group(1)
    class_name = get(metric, "class_name")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower() if class_name != "AUC" else "auc"


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
                                            if _has_change(eval_config) else ""))
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

    from google.protobuf import json_format

    final = json_format.MessageToDict(proto)
    name = CANDIDATE_NAME if baseline is not None else None
    candidate_metrics = _slice_metrics(tfma, evaluation.uri, name, info.classes)
    baseline_metrics = (_slice_metrics(tfma, evaluation.uri, BASELINE_NAME, info.classes)
                        if baseline is not None else {})
    found = verdict.failures(tfma.load_validation_result(evaluation.uri), info.classes,
                             candidate_metrics, baseline_metrics)
    blessed, reason = verdict.reason(tfma.load_validation_result(evaluation.uri), found,
                                     thresholds=len(thresholded_metrics(final)), notes=notes)
    columns = list(dict.fromkeys(k for row in candidate_metrics.values() for k in row))
    main, higher, bound = _main_metric(final, columns)
    rows = [SliceRow(slice=s, metrics=m, baseline=baseline_metrics.get(s, {}),
                     failures=[f.describe() for f in found if f.slice == s])
            for s, m in candidate_metrics.items()]
    summary = Summary(main_metric=main, higher_is_better=higher, columns=columns,
                      rows=sort_worst_first(rows, main, higher), blessed=blessed, reason=reason,
                      model=model.uri, baseline_model=baseline_model.uri if baseline_model
                      else "", main_bound=bound)
    write_report(evaluation.uri, summary)
    _record(evaluation, blessing, summary, model, baseline_model if baseline else None)
    context.logger.info("%s: %s", "BLESSED" if blessed else "NOT BLESSED", reason)


def _has_change(config: Mapping[str, Any]) -> bool:
    return any(change for _, _, change in thresholded_metrics(config))


def _record(evaluation: ModelEvaluation, blessing: ModelBlessing, summary: Summary,
            model: Model, baseline: Model | None) -> None:
    worst = summary.rows[0] if summary.rows else None
    value = worst.metrics.get(summary.main_metric) if worst else None
    evaluation.custom_properties.update({
        "main_metric": summary.main_metric,
        "slices": len(summary.rows),
        SUMMARY: (f"worst slice by {summary.main_metric}: {worst.slice} "
                  f"({'n/a' if value is None else f'{value:.4g}'})" if worst else "no slices"),
    })
    open(os.path.join(blessing.uri, BLESSED_FILE if summary.blessed else NOT_BLESSED_FILE),
         "w", encoding="utf-8").close()
    first_line = summary.reason.splitlines()[0]
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
