"""The files of a :class:`~conveyor.artifacts.Model` artifact, whatever trained it.

Layout::

    {uri}/model_info.json                     ModelInfo: framework, task, label, classes, inputs
    {uri}/Format-Serving/                     (TensorFlow) SavedModel; see below
    {uri}/Format-Estimator/model.joblib       (scikit-learn, XGBoost) the fitted estimator
    {uri}/Format-Estimator/booster.ubj        (XGBoost) the booster in XGBoost's own format

The output contract, which the Evaluator, InfraValidator and Pusher rely on:

- **TensorFlow**: the SavedModel's ``serving_default`` signature takes one input,
  ``examples``: a string tensor of shape ``[None]`` holding serialized ``tf.train.Example`` with
  the *raw* (untransformed) features; any preprocessing runs inside the model. For
  ``task="classification"`` it returns ``probabilities`` (float, ``[None, len(classes)]``); for
  ``task="regression"`` it returns ``predictions`` (float, ``[None]`` or ``[None, 1]``). Other
  outputs may be added.
- **scikit-learn / XGBoost**: ``model.joblib`` is a fitted estimator (usually a
  ``sklearn.pipeline.Pipeline`` whose first steps are the preprocessing) taking a
  ``pandas.DataFrame`` of the raw features named in ``ModelInfo.features``; classification
  estimators have ``predict_proba`` with columns in the order of ``ModelInfo.classes``,
  regression estimators ``predict``. The preprocessing is inside the pickled estimator, so it is
  applied identically at training and prediction time.

``classes`` are the label values as strings, in the order of the probability columns; a label
value ``v`` has class index ``classes.index(str(v))``.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from conveyor.errors import DataError

MODEL_INFO_FILE = "model_info.json"
SERVING_DIR = "Format-Serving"
ESTIMATOR_DIR = "Format-Estimator"
ESTIMATOR_FILE = "model.joblib"
SIGNATURE = "serving_default"
SIGNATURE_INPUT = "examples"
PROBABILITIES = "probabilities"
PREDICTIONS = "predictions"

Framework = Literal["tensorflow", "sklearn", "xgboost"]
Task = Literal["classification", "regression"]
FRAMEWORKS: tuple[str, ...] = ("tensorflow", "sklearn", "xgboost")
TASKS: tuple[str, ...] = ("classification", "regression")


@dataclass
class ModelInfo:
    """Describes a trained model: how to load it and what it takes and returns.

    ``features`` maps each raw input feature to its kind (``"int"``, ``"float"`` or
    ``"string"``); ``classes`` is set for classification (see the module docstring).
    """

    framework: Framework
    task: Task
    label_key: str
    features: dict[str, str] = field(default_factory=dict)
    classes: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def output_key(self) -> str:
        """The output holding the model's answer: probabilities or predictions."""
        return PROBABILITIES if self.task == "classification" else PREDICTIONS

    def class_index(self, label: object) -> int:
        """The probability column of a label value; DataError for a value the model lacks."""
        if not self.classes:
            raise DataError(f"model of task '{self.task}' has no classes")
        key = label.decode() if isinstance(label, bytes) else str(label)
        try:
            return self.classes.index(key)
        except ValueError:
            raise DataError(f"label '{self.label_key}' value {key!r} is not one of the model's "
                            f"classes {self.classes}") from None


def write_model_info(model_uri: str, info: ModelInfo) -> None:
    """Write ``model_info.json`` into a model directory, checking the description first."""
    if info.framework not in FRAMEWORKS:
        raise ValueError(f"ModelInfo.framework must be one of {', '.join(FRAMEWORKS)}, "
                         f"got {info.framework!r}")
    if info.task not in TASKS:
        raise ValueError(f"ModelInfo.task must be one of {', '.join(TASKS)}, got {info.task!r}")
    if info.task == "classification" and not info.classes:
        raise ValueError("a classification ModelInfo needs its classes, in the order of the "
                         "probability columns")
    with open(os.path.join(model_uri, MODEL_INFO_FILE), "w", encoding="utf-8") as f:
        json.dump(asdict(info), f, indent=2, sort_keys=True)


def read_model_info(model_uri: str) -> ModelInfo:
    """Read a model's ``model_info.json``; DataError naming the file when missing or malformed."""
    path = os.path.join(model_uri, MODEL_INFO_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return ModelInfo(**data)
    except FileNotFoundError:
        raise DataError(f"{path} is missing: this Model artifact was not written by a Conveyor "
                        f"Trainer (or its run_fn did not describe the model)") from None
    except (json.JSONDecodeError, TypeError) as err:
        raise DataError(f"{path} is not a valid model description: {err}") from err
