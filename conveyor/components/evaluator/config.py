"""TFMA ``EvalConfig`` as a plain dict: a builder for common cases and definition-time checks.

The Evaluator takes TFMA's ``EvalConfig`` in its JSON form, as
``google.protobuf.json_format.MessageToDict`` gives it (camelCase keys; snake_case keys are
accepted too, as ``json_format.ParseDict`` accepts both). Nothing here imports TFMA or
protobuf: a ``tfma.EvalConfig`` object is recognised by its ``DESCRIPTOR`` and converted with
``MessageToDict`` by the object's own protobuf runtime.

:func:`eval_config` builds the dict for the usual classification or regression evaluation::

    eval_config(label_key="species",
                slices=[[], ["island"], ["island", "sex"]],        # overall, by feature, cross
                metrics=["example_count", "accuracy", "auc", "precision", "recall",
                         "calibration", "confusion_matrix"],
                thresholds={"accuracy": {"lower_bound": 0.9, "change_relative": -0.05}})

Metric names (:data:`METRICS`) map to TFMA metric classes. ``accuracy`` is the share of
examples whose highest-scored class is the label, computed natively by
:class:`conveyor.components.evaluator.tfma_metrics.MulticlassAccuracy` (the value of Keras's
``SparseCategoricalAccuracy``, without TFMA's slower Keras wrapper); ``auc``, ``precision``,
``recall``, ``calibration``, ``binary_accuracy`` and ``calibration_plot`` are computed **per
class**, in a metrics spec that binarizes by class id. Such a spec may leave its class ids
empty (``"binarize": {"classIds": {}}``): the Evaluator fills in every class of the evaluated
model, which is only known once the model is loaded. A threshold on a per-class metric applies
to every class.

A threshold (:func:`threshold`) takes ``lower_bound`` / ``upper_bound`` (value thresholds)
and ``change_relative`` / ``change_absolute`` (against the baseline model; ``-0.05`` with
``higher_is_better`` lets the metric drop by at most 5%), and ``higher_is_better`` (default:
true, except for error metrics such as ``mse``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from conveyor.errors import ParameterTypeError, did_you_mean

#: Friendly metric name -> (TFMA class name, TFMA metric config or "", computed per class).
METRICS: Mapping[str, tuple[str, str, bool]] = {
    "example_count": ("ExampleCount", "", False),
    "accuracy": ("MulticlassAccuracy", '"name": "accuracy"', False),
    "confusion_matrix": ("MultiClassConfusionMatrixPlot", "", False),
    "auc": ("AUC", "", True),
    "precision": ("Precision", "", True),
    "recall": ("Recall", "", True),
    "calibration": ("Calibration", "", True),
    "binary_accuracy": ("BinaryAccuracy", "", True),
    "calibration_plot": ("CalibrationPlot", "", True),
    "mse": ("MeanSquaredError", '"name": "mse"', False),
    "mae": ("MeanAbsoluteError", '"name": "mae"', False),
    "mean_label": ("MeanLabel", "", False),
    "mean_prediction": ("MeanPrediction", "", False),
}

#: Metric classes of Conveyor's own, and the module TFMA imports them from.
METRIC_MODULES: Mapping[str, str] = {
    "MulticlassAccuracy": "conveyor.components.evaluator.tfma_metrics",
}

CLASSIFICATION_METRICS = ["example_count", "accuracy", "auc", "precision", "recall",
                          "calibration", "confusion_matrix"]
REGRESSION_METRICS = ["example_count", "mse", "mae", "mean_label", "mean_prediction"]

#: Metrics for which lower values are better (so change thresholds point the other way).
LOWER_IS_BETTER = frozenset({"mse", "mae"})

_THRESHOLD_KEYS = ("lower_bound", "upper_bound", "change_relative", "change_absolute",
                   "higher_is_better")

#: Fields of TFMA's EvalConfig and its messages that Conveyor checks, in both spellings.
_EVAL_CONFIG_FIELDS = ("model_specs", "slicing_specs", "cross_slicing_specs", "metrics_specs",
                       "options")
_SLICING_FIELDS = ("feature_keys", "feature_values", "slice_keys_sql")
_MODEL_SPEC_FIELDS = ("name", "label_key", "label_keys", "prediction_key", "prediction_keys",
                      "example_weight_key", "example_weight_keys", "signature_name",
                      "preprocessing_function_names", "model_type", "is_baseline",
                      "inference_batch_size")
_METRICS_SPEC_FIELDS = ("metrics", "model_names", "output_names", "output_weights",
                        "binarize", "aggregate", "example_weights", "query_key", "thresholds",
                        "per_slice_thresholds", "cross_slice_thresholds")
_METRIC_CONFIG_FIELDS = ("class_name", "module", "config", "threshold",
                         "per_slice_thresholds", "cross_slice_thresholds")
_THRESHOLD_FIELDS = ("value_threshold", "change_threshold")
_DIRECTIONS = ("HIGHER_IS_BETTER", "LOWER_IS_BETTER")


def camel(name: str) -> str:
    """``feature_keys`` -> ``featureKeys`` (the JSON name protobuf gives a field)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def get(message: Mapping[str, Any], field: str, default: Any = None) -> Any:
    """A field of a message dict under either spelling (``feature_keys`` or ``featureKeys``)."""
    if field in message:
        return message[field]
    return message.get(camel(field), default)


def threshold(spec: Mapping[str, Any], metric: str = "") -> dict[str, Any]:
    """A TFMA ``MetricThreshold`` dict from ``lower_bound``, ``upper_bound``,
    ``change_relative``, ``change_absolute`` and ``higher_is_better``."""
    unknown = [k for k in spec if k not in _THRESHOLD_KEYS]
    if unknown:
        raise ParameterTypeError(
            f"threshold of '{metric}': unknown key '{unknown[0]}'."
            f"{did_you_mean(unknown[0], _THRESHOLD_KEYS)} Use {', '.join(_THRESHOLD_KEYS)}")
    result: dict[str, Any] = {}
    value = {camel(k): float(spec[k]) for k in ("lower_bound", "upper_bound") if k in spec}
    if value:
        result["valueThreshold"] = value
    change = {k.split("_")[1]: float(spec[k]) for k in ("change_relative", "change_absolute")
              if k in spec}
    if change:
        higher = spec.get("higher_is_better", metric not in LOWER_IS_BETTER)
        result["changeThreshold"] = {
            **change, "direction": "HIGHER_IS_BETTER" if higher else "LOWER_IS_BETTER"}
    if not result:
        raise ParameterTypeError(f"threshold of '{metric}' sets no bound; give lower_bound, "
                                 f"upper_bound, change_relative or change_absolute")
    return result


def eval_config(label_key: str = "", *, slices: Sequence[Sequence[str]] = ((),),
                metrics: Sequence[str] | None = None,
                thresholds: Mapping[str, Mapping[str, Any]] | None = None,
                class_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """An ``EvalConfig`` dict: one model spec (``label_key``; empty: the model's own label),
    a slicing spec per feature list in ``slices`` (``[]`` is the whole data set), the metrics
    named in ``metrics`` (see :data:`METRICS`; default :data:`CLASSIFICATION_METRICS`) and
    ``thresholds`` per metric name (see :func:`threshold`). Per-class metrics binarize by
    ``class_ids`` (default: every class of the evaluated model)."""
    names = list(CLASSIFICATION_METRICS if metrics is None else metrics)
    for name in names:
        if name not in METRICS:
            raise ParameterTypeError(f"eval_config: unknown metric '{name}'."
                                     f"{did_you_mean(name, METRICS)} Use one of "
                                     f"{', '.join(METRICS)}")
    thresholds = dict(thresholds or {})
    for name in thresholds:
        if name not in names:
            raise ParameterTypeError(f"eval_config: a threshold is set on '{name}', which is not "
                                     f"among the metrics ({', '.join(names)})")
    overall: list[dict[str, Any]] = []
    per_class: list[dict[str, Any]] = []
    for name in names:
        class_name, config, binarized = METRICS[name]
        metric: dict[str, Any] = {"className": class_name}
        if class_name in METRIC_MODULES:
            metric["module"] = METRIC_MODULES[class_name]
        if config:
            metric["config"] = config
        if name in thresholds:
            metric["threshold"] = threshold(thresholds[name], name)
        (per_class if binarized else overall).append(metric)
    metrics_specs: list[dict[str, Any]] = []
    if overall:
        metrics_specs.append({"metrics": overall})
    if per_class:
        ids: dict[str, Any] = {"values": list(class_ids)} if class_ids else {}
        metrics_specs.append({"metrics": per_class, "binarize": {"classIds": ids}})
    model_spec = {"labelKey": label_key} if label_key else {}
    return {
        "modelSpecs": [model_spec],
        "slicingSpecs": [{"featureKeys": list(s)} if s else {} for s in slices],
        "metricsSpecs": metrics_specs,
    }


def as_config_dict(value: Any, where: str) -> dict[str, Any]:
    """``value`` as an EvalConfig dict: a dict is returned as it is, a protobuf message (a
    ``tfma.EvalConfig``) converted with ``MessageToDict``."""
    descriptor = getattr(value, "DESCRIPTOR", None)
    if descriptor is not None:
        if getattr(descriptor, "name", "") != "EvalConfig":
            raise ParameterTypeError(f"{where}: expects a tfma.EvalConfig or its dict form, got "
                                     f"a {getattr(descriptor, 'full_name', type(value).__name__)}")
        from google.protobuf import json_format  # protobuf is loaded: value is a message

        converted: dict[str, Any] = json_format.MessageToDict(value)
        return converted
    if not isinstance(value, dict):
        raise ParameterTypeError(f"{where}: expects a tfma.EvalConfig or its dict form (e.g. "
                                 f"from conveyor.components.evaluator.eval_config(...)), got "
                                 f"{type(value).__name__}")
    return value


def _check_fields(message: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    names = {n for f in allowed for n in (f, camel(f))}
    for key in message:
        if key not in names:
            raise ParameterTypeError(f"{where}: unknown field '{key}'.{did_you_mean(key, names)}"
                                     f" Fields: {', '.join(camel(f) for f in allowed)}")


def _as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParameterTypeError(f"{where} must be a list, got {type(value).__name__}")
    return value


def check_config(config: Mapping[str, Any], where: str) -> None:
    """Check the structure of an EvalConfig dict as far as possible without TFMA: known fields,
    lists where lists belong, metrics naming a class, thresholds with a bound and a valid
    direction. The executor parses it with TFMA, which checks the rest."""
    _check_fields(config, _EVAL_CONFIG_FIELDS, f"{where} eval_config")
    specs = _as_list(get(config, "model_specs"), f"{where} eval_config.modelSpecs")
    candidates = [s for s in specs if not get(s, "is_baseline", False)]
    if len(candidates) > 1:
        raise ParameterTypeError(f"{where} eval_config: {len(candidates)} candidate model specs; "
                                 f"the Evaluator evaluates one model (and its baseline, which it "
                                 f"adds itself)")
    for i, spec in enumerate(specs):
        _check_fields(spec, _MODEL_SPEC_FIELDS, f"{where} eval_config.modelSpecs[{i}]")
    for i, spec in enumerate(_as_list(get(config, "slicing_specs"),
                                      f"{where} eval_config.slicingSpecs")):
        at = f"{where} eval_config.slicingSpecs[{i}]"
        _check_fields(spec, _SLICING_FIELDS, at)
        keys = _as_list(get(spec, "feature_keys"), f"{at}.featureKeys")
        if not all(isinstance(k, str) and k for k in keys):
            raise ParameterTypeError(f"{at}.featureKeys must be feature names, got {keys}")
    metrics_specs = _as_list(get(config, "metrics_specs"), f"{where} eval_config.metricsSpecs")
    for i, spec in enumerate(metrics_specs):
        at = f"{where} eval_config.metricsSpecs[{i}]"
        _check_fields(spec, _METRICS_SPEC_FIELDS, at)
        for j, metric in enumerate(_as_list(get(spec, "metrics"), f"{at}.metrics")):
            _check_metric(metric, f"{at}.metrics[{j}]")


def _check_metric(metric: Mapping[str, Any], where: str) -> None:
    _check_fields(metric, _METRIC_CONFIG_FIELDS, where)
    if not isinstance(get(metric, "class_name"), str) or not get(metric, "class_name"):
        raise ParameterTypeError(f"{where} needs a className (a TFMA or Keras metric class, e.g. "
                                 f"'AUC'); the friendly names are {', '.join(METRICS)} "
                                 f"(see conveyor.components.evaluator.eval_config)")
    found = get(metric, "threshold")
    if found is None:
        return
    _check_fields(found, _THRESHOLD_FIELDS, f"{where}.threshold")
    value = get(found, "value_threshold")
    change = get(found, "change_threshold")
    if value is not None and get(value, "lower_bound") is None \
            and get(value, "upper_bound") is None:
        raise ParameterTypeError(f"{where}.threshold.valueThreshold sets neither lowerBound nor "
                                 f"upperBound")
    if change is not None:
        direction = get(change, "direction")
        if direction not in _DIRECTIONS:
            raise ParameterTypeError(f"{where}.threshold.changeThreshold.direction must be one "
                                     f"of {', '.join(_DIRECTIONS)}, got {direction!r}")
        if get(change, "relative") is None and get(change, "absolute") is None:
            raise ParameterTypeError(f"{where}.threshold.changeThreshold sets neither relative "
                                     f"nor absolute")


def thresholded_metrics(config: Mapping[str, Any]) -> list[tuple[str, bool, bool]]:
    """``(class name, has value threshold, has change threshold)`` of every metric with a
    threshold (metric-level thresholds; spec-level ``thresholds`` maps count too)."""
    found: list[tuple[str, bool, bool]] = []
    for spec in get(config, "metrics_specs") or []:
        for metric in get(spec, "metrics") or []:
            t = get(metric, "threshold")
            if t:
                found.append((get(metric, "class_name"), get(t, "value_threshold") is not None,
                              get(t, "change_threshold") is not None))
            for slice_threshold in get(metric, "per_slice_thresholds") or []:
                t = get(slice_threshold, "threshold") or {}
                found.append((get(metric, "class_name"), get(t, "value_threshold") is not None,
                              get(t, "change_threshold") is not None))
        for name, t in (get(spec, "thresholds") or {}).items():
            found.append((name, get(t, "value_threshold") is not None,
                          get(t, "change_threshold") is not None))
    return found


def has_change_thresholds(config: Mapping[str, Any]) -> bool:
    """Whether any threshold compares with a baseline model."""
    return any(change for _, _, change in thresholded_metrics(config))
