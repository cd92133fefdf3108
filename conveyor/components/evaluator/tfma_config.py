"""Completing the user's EvalConfig into the one TFMA runs (TFMA imported by the caller).

The Evaluator computes the predictions itself, so the config TFMA sees reads its own columns:
the label in :data:`LABEL` (a class index for classification), the candidate's output in
:data:`CANDIDATE` and the baseline's in :data:`BASELINE`. :func:`complete_config`

- keeps the user's (single) candidate model spec, whose ``labelKey`` (or, without one, the
  model's own label) names the label feature, and points it at those columns;
- adds a baseline spec copied from it when there is a baseline (TFMA's
  ``update_eval_config_with_defaults`` names them ``candidate`` and ``baseline``);
- fills per-class metrics specs whose class ids are left empty with every class of the model;
- removes change thresholds when there is no baseline (the blessing says so);
- slices the whole data set when no slicing spec is given;
- checks that the label and slicing features exist (in the examples, and in the schema when
  one is wired), with a did-you-mean.

:func:`main_metric` picks the metric the report ranks slices by.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.artifacts import Schema
from conveyor.components.evaluator.config import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    get,
)
from conveyor.components.evaluator.config import eval_config as build_config
from conveyor.data import layout
from conveyor.errors import DataError, ExecutionError, did_you_mean
from conveyor.models.format import ModelInfo

#: Columns the Evaluator adds next to the slicing features.
LABEL, CANDIDATE, BASELINE = "_conveyor_label", "_conveyor_candidate", "_conveyor_baseline"


def check_features(names: Sequence[str], columns: Sequence[str], schema: Schema | None,
                    what: str, where: str) -> None:
    known = list(columns)
    schema_features: list[str] = []
    if schema is not None:
        schema_features = [f.name for f in layout.read_schema(schema.uri).feature]
    for name in names:
        if name not in known:
            raise DataError(f"{what} '{name}' is not a feature of the examples ({where})."
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
    check_features([label_key], columns, schema, "label", where)
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
        check_features([*slicing.feature_keys, *slicing.feature_values], columns, schema,
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
        for per_slice in metrics_spec.per_slice_thresholds.values():
            kept = [t for t in per_slice.thresholds if t.threshold.HasField("value_threshold")]
            for t in kept:
                t.threshold.ClearField("change_threshold")
            del per_slice.thresholds[:]
            per_slice.thresholds.extend(kept)
        for name in list(metrics_spec.thresholds):
            threshold = metrics_spec.thresholds[name]
            threshold.ClearField("change_threshold")
            if not threshold.HasField("value_threshold"):
                del metrics_spec.thresholds[name]


def main_metric(config: Mapping[str, Any], columns: Sequence[str]
                 ) -> tuple[str, bool, float | None]:
    """The metric ranking slices, whether higher is better, and its value bound if any."""
    for spec in get(config, "metrics_specs") or []:
        for metric in get(spec, "metrics") or []:
            threshold = get(metric, "threshold") or {}
            value = get(threshold, "value_threshold")
            if value is None:
                continue
            name = output_name(metric)
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


def output_name(metric: Mapping[str, Any]) -> str:
    """The name TFMA gives a metric config's results: its ``"name"`` config, else the TFMA
    default (snake case of the class name)."""
    found = re.search(r'"name"\s*:\s*"([^"]+)"', get(metric, "config") or "")
    if found:
        return found.group(1)
    class_name = get(metric, "class_name")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower() if class_name != "AUC" else "auc"


