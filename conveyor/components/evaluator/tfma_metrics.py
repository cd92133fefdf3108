"""A TFMA-native multi-class accuracy, registered with TFMA's metric API.

TFMA computes most classification metrics natively (counts, per-class AUC, precision, recall,
calibration), but has no native multi-class accuracy: ``SparseCategoricalAccuracy`` runs
through its Keras wrapper, which builds a Keras metric per combiner and has autograph convert
its ``update_state``; that was ~2.7 s of a 10 s penguin evaluation. This metric is the same
quantity (share of examples whose highest-scored class is the label, weighted when TFMA passes
example weights) as a plain Beam combiner, so it slices, takes thresholds and diffs against the
baseline like any TFMA metric.

TFMA imports this module itself, from the ``module`` of the metric config that
:func:`conveyor.components.evaluator.config.eval_config` writes; importing it imports TFMA.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

#: The name results carry unless the metric config gives another.
ACCURACY_NAME = "accuracy"


class MulticlassAccuracy(metric_types.Metric):  # type: ignore[misc]
    """Share of examples whose arg-max prediction is the label.

    The label may be a class id or one-hot; the prediction a score per class, or a single
    probability of the positive class (then above 0.5 means class 1).
    """

    def __init__(self, name: str = ACCURACY_NAME) -> None:
        super().__init__(metric_util.merge_per_key_computations(_computations), name=name)


metric_types.register_metric(MulticlassAccuracy)


def _computations(name: str, eval_config: Any = None, model_name: str = "",
                  output_name: str = "", sub_key: Any = None, aggregation_type: Any = None,
                  class_weights: Any = None, example_weighted: bool = False) -> list[Any]:
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 sub_key=sub_key, example_weighted=example_weighted)
    combiner = _AccuracyCombiner(key, eval_config, aggregation_type, class_weights,
                                 example_weighted)
    return [metric_types.MetricComputation(keys=[key], preprocessors=None, combiner=combiner)]


def predicted_class(prediction: np.ndarray[Any, Any]) -> int:
    """The class a prediction picks: arg-max of scores, or a single probability above 0.5."""
    flat = np.asarray(prediction, dtype=np.float64).reshape(-1)
    return int(flat[0] > 0.5) if flat.size == 1 else int(np.argmax(flat))


def true_class(label: np.ndarray[Any, Any], classes: int) -> int:
    """The class a label names: a class id, or the hot position of a one-hot vector."""
    flat = np.asarray(label).reshape(-1)
    return int(np.argmax(flat)) if flat.size > 1 and flat.size == classes else int(flat[0])


class _AccuracyCombiner(beam.CombineFn):
    """Accumulates (weighted correct, weighted total)."""

    def __init__(self, key: Any, eval_config: Any, aggregation_type: Any, class_weights: Any,
                 example_weighted: bool) -> None:
        self._key = key
        self._eval_config = eval_config
        self._aggregation_type = aggregation_type
        self._class_weights = class_weights
        self._example_weighted = example_weighted

    def create_accumulator(self) -> list[float]:
        return [0.0, 0.0]

    def add_input(self, accumulator: list[float], element: Any) -> list[float]:
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, aggregation_type=self._aggregation_type,
                class_weights=self._class_weights, example_weighted=self._example_weighted,
                flatten=False):
            scores = np.asarray(prediction).reshape(-1)
            weight_value = float(metric_util.safe_to_scalar(weight))
            hit = predicted_class(scores) == true_class(label, max(scores.size, 2))
            accumulator[0] += weight_value * hit
            accumulator[1] += weight_value
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[list[float]]) -> list[float]:
        merged = [0.0, 0.0]
        for correct, total in accumulators:
            merged[0] += correct
            merged[1] += total
        return merged

    def extract_output(self, accumulator: list[float]) -> dict[Any, float]:
        correct, total = accumulator
        return {self._key: correct / total if total else float("nan")}
