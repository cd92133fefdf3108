"""scikit-learn and XGBoost models: saving and loading them as Model artifacts, and the executor
of :class:`~conveyor.components.trainer.estimator_component.EstimatorTrainer`.

The files, as :mod:`conveyor.models.format` defines them::

    {model_dir}/model_info.json                framework, task, label, classes, features
    {model_dir}/Format-Estimator/model.joblib  the whole fitted pipeline (preprocessing + model)
    {model_dir}/Format-Estimator/booster.ubj   (XGBoost) the booster in XGBoost's own format,
                                               readable without pickle by any XGBoost binding

The Keras Trainer calls :func:`save_estimator` when a user's ``run_fn`` returns a fitted
estimator instead of exporting a SavedModel.
"""
from __future__ import annotations

import json
import os
from typing import Any

from conveyor.artifacts import Examples, HyperParameters, Model, ModelRun, Schema
from conveyor.components.trainer.estimator_build import import_estimator
from conveyor.components.trainer.estimator_fit import fit, load_training_data
from conveyor.components.trainer.hyperparameters import read_hyperparameters
from conveyor.data.layout import split_names
from conveyor.dsl.context import ExecutionContext
from conveyor.models.format import (
    ESTIMATOR_DIR,
    ESTIMATOR_FILE,
    ModelInfo,
    Task,
    read_model_info,
    write_model_info,
)

#: XGBoost's own serialisation of the booster, next to the pickled pipeline.
BOOSTER_FILE = "booster.ubj"
#: The ModelRun's record of a fit (the Keras Trainer's file, with more keys).
METRICS_FILE = "metrics.json"


def final_step(estimator: Any) -> Any:
    """The estimator at the end of a (possibly nested) ``sklearn.pipeline.Pipeline``, or
    ``estimator`` itself when it is not a pipeline."""
    while hasattr(estimator, "steps") and estimator.steps:
        estimator = estimator.steps[-1][1]
    return estimator


def is_xgboost(estimator: Any) -> bool:
    """Whether the final step of ``estimator`` is an XGBoost scikit-learn model (without
    importing XGBoost when it is not loaded: a model of it could not exist then)."""
    import sys

    if "xgboost" not in sys.modules:
        return False
    from xgboost import XGBModel

    return isinstance(final_step(estimator), XGBModel)


def save_estimator(model_dir: str, estimator: Any, info: ModelInfo) -> None:
    """Save a fitted scikit-learn-style ``estimator`` as the Model artifact at ``model_dir``.

    ``info.framework`` is set from what the estimator is (``"xgboost"`` when the final step is
    an XGBoost model, else ``"sklearn"``). For classification the estimator must have
    ``predict_proba`` and, when it exposes ``classes_``, as many classes as ``info.classes``,
    either equal to them as strings or the indices ``0..k-1`` (labels encoded in the order of
    ``info.classes``): otherwise the probability columns would not mean what
    ``model_info.json`` says. Raises ``ValueError`` (an unusable estimator or description) or
    ``TypeError`` (an estimator that does not pickle).
    """
    import joblib

    info.framework = "xgboost" if is_xgboost(estimator) else "sklearn"
    _check_estimator(estimator, info)
    directory = os.path.join(model_dir, ESTIMATOR_DIR)
    os.makedirs(directory, exist_ok=True)
    try:
        joblib.dump(estimator, os.path.join(directory, ESTIMATOR_FILE))
    except (TypeError, AttributeError) as err:  # pickle's words for "cannot pickle this"
        raise TypeError(f"the fitted estimator ({type(estimator).__name__}) cannot be saved "
                        f"with joblib: {err}. Define its classes and functions at module level "
                        f"of an importable module, not inside run_fn") from err
    if info.framework == "xgboost":
        final_step(estimator).get_booster().save_model(os.path.join(directory, BOOSTER_FILE))
    write_model_info(model_dir, info)


def _check_estimator(estimator: Any, info: ModelInfo) -> None:
    if not hasattr(estimator, "predict"):
        raise ValueError(f"{type(estimator).__name__} has no predict method: not a fitted "
                         f"scikit-learn-style estimator")
    if info.task != "classification":
        return
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(f"a classification model must have predict_proba; "
                         f"{type(estimator).__name__} has none (for SVC, pass probability=True)")
    fitted = getattr(final_step(estimator), "classes_", None)
    if fitted is None or info.classes is None:
        return
    fitted_names = [str(c) for c in fitted]
    indices = [str(i) for i in range(len(info.classes))]
    if fitted_names != list(info.classes) and fitted_names != indices:
        raise ValueError(f"the estimator's classes_ {fitted_names} are neither the model's "
                         f"classes {info.classes} nor their indices; predict_proba's columns "
                         f"must follow ModelInfo.classes")


def load_estimator(model_dir: str) -> tuple[Any, ModelInfo]:
    """The fitted estimator and description of the Model artifact at ``model_dir``.

    Unpickling runs code: load only models this pipeline (or someone trusted) wrote.
    """
    import joblib

    info = read_model_info(model_dir)
    path = os.path.join(model_dir, ESTIMATOR_DIR, ESTIMATOR_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: the model at {model_dir} is of framework "
                                f"'{info.framework}', not a saved estimator")
    return joblib.load(path), info


def train(*, examples: Examples, label_key: str, estimator: str,
          estimator_params: dict[str, Any], task: Task, features: list[str] | None,
          train_split: str, eval_split: str, seed: int, model: Model, model_run: ModelRun,
          context: ExecutionContext, schema: Schema | None = None,
          hyperparameters: HyperParameters | None = None) -> None:
    """Executor of EstimatorTrainer: fit the preprocessing and the estimator on
    ``train_split``, score both splits, save the pipeline as ``model`` and the metrics as
    ``model_run``: ``metrics.json`` in the ModelRun layout of
    :mod:`~conveyor.components.trainer.run_records` (``epochs``, here one per XGBoost round or
    a single one) plus ``train``/``eval`` metrics, the estimator, its params and the seed; the
    final metrics (``accuracy``, ``val_accuracy``, ...) as custom properties of both
    artifacts, named as the Keras Trainer names them."""
    where = f"EstimatorTrainer '{context.node_id}'"
    cls = import_estimator(estimator, f"{where} field 'estimator'")
    params = dict(estimator_params)
    if hyperparameters is not None:
        tuned = read_hyperparameters(hyperparameters.uri)
        context.logger.info("hyperparameters from %s override estimator_params: %s",
                            hyperparameters.uri, tuned)
        params.update(tuned)
    data = load_training_data(examples.uri, split_names(examples),
                              schema_uri=schema.uri if schema is not None else None,
                              label_key=label_key, features=features, task=task,
                              train_split=train_split, eval_split=eval_split, where=where)
    for split, count in data.dropped.items():
        if count:
            context.logger.warning("split '%s': %d rows without a '%s' label left out",
                                   split, count, label_key)
    fitted = fit(data, cls, params, seed, where)
    info = data.model_info()
    info.extra = {"estimator": estimator, "params": params}
    save_estimator(model.uri, fitted.estimator, info)
    record = {"epochs": fitted.epochs(), "estimator": estimator, "params": params,
              "seed": seed, "train": fitted.metrics["train"], "eval": fitted.metrics["eval"],
              "fit_seconds": fitted.fit_seconds, "rows_without_label": data.dropped}
    with open(os.path.join(model_run.uri, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, sort_keys=True)
    for artifact in (model, model_run):
        artifact.custom_properties.update(fitted.final())
        artifact.custom_properties["train_seconds"] = round(fitted.fit_seconds, 3)
    model.custom_properties["estimator"] = estimator
    if examples.span is not None:
        model.custom_properties["examples_span"] = int(examples.span)
    headline = "accuracy" if task == "classification" else "rmse"
    model_run.custom_properties["summary"] = (
        f"eval {headline} {fitted.metrics['eval'][headline]:.4f}, "
        f"train {fitted.metrics['train'][headline]:.4f}")
    context.logger.info("%s: train %s, eval %s (%.2f s)", estimator, fitted.metrics["train"],
                        fitted.metrics["eval"], fitted.fit_seconds)
