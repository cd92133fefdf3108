"""Declaration of the Evaluator (cheap to import: no TFMA, no TensorFlow).

::

    from conveyor.components.evaluator import Evaluator, eval_config

    evaluate = Evaluator(
        examples=gen.outputs.examples,
        model=trainer.outputs.model,
        baseline_model=latest_blessed.outputs.model,        # optional
        eval_config=eval_config(
            label_key="species",
            slices=[[], ["island"], ["island", "sex"]],
            thresholds={"accuracy": {"lower_bound": 0.9, "change_relative": -0.05}}),
    )
    evaluate.outputs.evaluation    # ModelEvaluation: TFMA's output + report.html, slices.png
    evaluate.outputs.blessing      # ModelBlessing: BLESSED or NOT_BLESSED, with the reason

``eval_config`` may also be a ``tfma.EvalConfig`` object (converted to its dict form here,
without importing TFMA) or a dict in ``MessageToDict`` form. The executor lives in
:mod:`.executor`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.artifacts import Examples, Model, ModelBlessing, ModelEvaluation, Schema
from conveyor.components.evaluator.config import as_config_dict, check_config, get
from conveyor.components.evaluator.config import has_change_thresholds as _has_change
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import ArgumentError


class Evaluator(Component):
    """Evaluates a model on Examples with TFMA, per slice, and blesses it or not.

    The model (TensorFlow SavedModel, scikit-learn or XGBoost; see
    :mod:`conveyor.models.format`) and the baseline model, when one is wired and resolved,
    predict every example of ``example_splits``; TFMA evaluates those predictions as
    precomputed predictions, with the slicing specs, metrics and thresholds of ``eval_config``
    (empty: the whole data set, the usual metrics of the model's task, no thresholds). TFMA's
    validation result decides the blessing:

    - every failed threshold is listed in the blessing's ``reason`` with metric, class, slice
      and values, and the model is NOT_BLESSED;
    - with no threshold configured the model is BLESSED and the reason says so ("no thresholds
      configured: blessed by default", as TFX does);
    - with ``baseline_model`` wired but resolving to nothing (no blessed model yet), change
      thresholds are skipped and the reason says "no baseline model".
    """

    examples: Channel[Examples] = Input(description="the data to evaluate on (raw features)")
    model: Channel[Model] = Input(description="the candidate model")
    baseline_model: Channel[Model] | None = Input(
        default=None, description="the model to compare with (change thresholds)")
    schema: Channel[Schema] | None = Input(
        default=None, description="checks that slicing features and the label exist")
    eval_config: dict[str, Any] = Parameter(
        default={}, description="TFMA EvalConfig as a dict (or a tfma.EvalConfig)")
    example_splits: list[str] = Parameter(default=["eval"], description="splits to evaluate on")
    evaluation: Channel[ModelEvaluation] = Output()
    blessing: Channel[ModelBlessing] = Output()
    executor = "conveyor.components.evaluator.executor:evaluate"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            if kwargs.get("eval_config") is not None \
                    and not isinstance(kwargs["eval_config"], RuntimeParameter):
                kwargs["eval_config"] = as_config_dict(
                    kwargs["eval_config"], f"Evaluator '{id or self.default_id()}'")
            super().__init__(*args, id=id, **kwargs)
            self._check()

    def _check(self) -> None:
        where = f"Evaluator '{self.id}'"
        splits = self.parameters["example_splits"]
        if isinstance(splits, list) and not splits:
            raise ArgumentError(f"{where}: example_splits is empty; name at least one split, "
                                f"e.g. ['eval']")
        config = self.parameters["eval_config"]
        if isinstance(config, RuntimeParameter):
            return
        check_config(config, where)
        if _has_change(config) and self.inputs["baseline_model"] is None:
            raise ArgumentError(
                f"{where}: eval_config has change thresholds but 'baseline_model' is not "
                f"wired; pass baseline_model=<the latest blessed model> or drop the change "
                f"thresholds")
        for spec in get(config, "model_specs") or []:
            if get(spec, "prediction_key") or get(spec, "prediction_keys"):
                raise ArgumentError(
                    f"{where}: eval_config model specs must not set a prediction key; the "
                    f"Evaluator computes the predictions and names them itself")
