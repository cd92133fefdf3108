"""Declaration of EstimatorTrainer: built-in training of scikit-learn and XGBoost models (cheap
to import: no scikit-learn, no XGBoost).

::

    trainer = EstimatorTrainer(
        examples=example_gen.outputs.examples,
        schema=schema_gen.outputs.schema,                       # optional: feature kinds
        hyperparameters=tuner.outputs.best_hyperparameters,     # optional: override params
        label_key="species",
        estimator="sklearn.ensemble.RandomForestClassifier",    # or "xgboost.XGBClassifier"
        estimator_params={"n_estimators": 100},
    )

The executor is :func:`conveyor.components.trainer.estimators.train`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from conveyor.artifacts import Examples, HyperParameters, Model, ModelRun, Schema
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import ParameterTypeError


class _EstimatorComponent(Component):
    """Fields shared by EstimatorTrainer and EstimatorTuner (not a component itself), and
    their definition-time checks: an import path of the right shape, distinct splits, a label
    that is not also a feature."""

    examples: Channel[Examples] = Input(description="the data: train_split and eval_split")
    schema: Channel[Schema] | None = Input(default=None, description="feature kinds")
    label_key: str = Parameter(description="the column to predict")
    estimator: str = Parameter(
        description="import path, e.g. 'sklearn.ensemble.RandomForestClassifier'")
    estimator_params: dict[str, Any] = Parameter(default={},
                                                 description="keyword arguments of the estimator")
    task: Literal["classification", "regression"] = Parameter(
        default="classification", description="'classification' or 'regression'")
    features: list[str] | None = Parameter(
        default=None, description="raw features to use; default: every column but the label")
    train_split: str = Parameter(default="train", description="split to fit on")
    eval_split: str = Parameter(default="eval", description="split to score on")
    seed: int = Parameter(default=0, description="random_state of the estimator")

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            self._check_estimator_fields()

    def _check_estimator_fields(self) -> None:
        values = self.parameters
        where = f"{type(self).__name__} '{self.id}'"
        path = values["estimator"]
        if isinstance(path, str) and (path.count(".") < 1 or not all(path.split("."))):
            raise ParameterTypeError(f"{where} field 'estimator': '{path}' is not an import "
                                     f"path; write 'package.module.Class', e.g. "
                                     f"'sklearn.linear_model.LogisticRegression'")
        train, evaluation = values["train_split"], values["eval_split"]
        if not isinstance(train, RuntimeParameter) and train == evaluation:
            raise ParameterTypeError(f"{where}: train_split and eval_split are both '{train}'; "
                                     f"score on a split the model was not fitted on")
        features, label = values["features"], values["label_key"]
        if isinstance(features, list) and label in features:
            raise ParameterTypeError(f"{where} field 'features': the label '{label}' is listed "
                                     f"as a feature; remove it")


class EstimatorTrainer(_EstimatorComponent):
    """Fits a scikit-learn or XGBoost estimator, behind built-in preprocessing, on Examples.

    The saved model (``Format-Estimator/model.joblib``, see :mod:`conveyor.models.format`) is a
    ``sklearn.pipeline.Pipeline``: a ``ColumnTransformer`` (numeric features: median imputation
    and standard scaling; text features, and integers the schema marks categorical:
    most-frequent imputation and one-hot encoding ignoring unseen values) followed by the
    estimator, so predicting from raw rows applies the preprocessing fitted in training.
    Feature kinds come from the schema when one is wired, else from the data.

    ``estimator_params`` are passed to the estimator (``random_state=seed`` is added when it
    takes one, and ``n_jobs=1`` for XGBoost, unless given); values from ``hyperparameters``
    (a tuner's ``best_hyperparameters.txt``) override them. Classification classes are the
    sorted distinct label values of ``train_split`` as strings. The ModelRun holds
    ``metrics.json`` (as the Keras Trainer's: ``epochs``, one per XGBoost round; plus train
    and eval metrics: accuracy and log loss, or RMSE, MAE and R²); the final metrics are
    custom properties of the model and the run, named as Keras names them (``accuracy``,
    ``val_accuracy``, ``val_log_loss``, ...).
    """

    hyperparameters: Channel[HyperParameters] | None = Input(
        default=None, description="overrides estimator_params")
    model: Channel[Model] = Output()
    model_run: Channel[ModelRun] = Output()
    executor = "conveyor.components.trainer.estimators:train"
