"""Fitting a scikit-learn or XGBoost estimator on an Examples artifact and scoring it: the
shared work of EstimatorTrainer (one fit) and EstimatorTuner (one fit per trial).

Labels: for classification the classes are the sorted distinct label values of the training
split, as strings (``ModelInfo.classes``). scikit-learn learners are fitted on those strings, so
their ``classes_`` are the same list; XGBoost needs the indices ``0..k-1``, so its labels are
encoded in that order. Rows whose label is missing are left out (and counted).
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conveyor.components.trainer import estimator_build as build
from conveyor.components.trainer.data import ExamplesAccessor
from conveyor.data import layout
from conveyor.data.examples import find_split_files
from conveyor.errors import DataError, did_you_mean
from conveyor.models.format import ModelInfo, Task


@dataclass
class TrainingData:
    """The train and eval splits as features and labels, and what was learnt about them."""

    task: Task
    label_key: str
    kinds: dict[str, str]
    categorical: list[str]
    train_x: Any
    train_y: Any
    eval_x: Any
    eval_y: Any
    classes: list[str] | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """The raw features the model takes, in column order."""
        return list(self.kinds)

    def model_info(self) -> ModelInfo:
        """The description saved as ``model_info.json`` (framework set when saving)."""
        return ModelInfo(framework="sklearn", task=self.task, label_key=self.label_key,
                         features=dict(self.kinds), classes=self.classes)


@dataclass
class FitResult:
    """A fitted pipeline (preprocessing + learner) and its metrics."""

    estimator: Any
    metrics: dict[str, dict[str, float]]
    #: Per boosting round (XGBoost): split -> metric -> values.
    history: dict[str, dict[str, list[float]]]
    fit_seconds: float

    def final(self) -> dict[str, float]:
        """The metrics named as Keras names them: training metrics plain (``accuracy``),
        eval metrics with ``val_`` (``val_accuracy``); the example counts left out."""
        return {**{name: value for name, value in self.metrics["train"].items()
                   if name != "examples"},
                **{f"val_{name}": value for name, value in self.metrics["eval"].items()
                   if name != "examples"}}

    def epochs(self) -> list[dict[str, float]]:
        """The ModelRun's ``epochs`` (see :mod:`conveyor.components.trainer.run_records`): one
        per XGBoost boosting round with XGBoost's own metrics (``mlogloss``,
        ``val_mlogloss``), else one; the last also holds :meth:`final`."""
        train, evaluation = self.history.get("train", {}), self.history.get("eval", {})
        rounds = max((len(v) for v in (*train.values(), *evaluation.values())), default=1)
        epochs: list[dict[str, float]] = []
        for index in range(rounds):
            epoch: dict[str, float] = {"epoch": index + 1}
            epoch.update({name: values[index] for name, values in train.items()})
            epoch.update({f"val_{name}": values[index] for name, values in evaluation.items()})
            epochs.append(epoch)
        epochs[-1].update(self.final())
        return epochs


def load_training_data(examples_uri: str, splits: list[str], *, schema_uri: str | None,
                       label_key: str, features: list[str] | None, task: Task,
                       train_split: str, eval_split: str, where: str) -> TrainingData:
    """Read the two splits of the Examples at ``examples_uri`` (whose splits are ``splits``)
    into a :class:`TrainingData`. ``where`` names the node in errors."""
    for key, split in (("train_split", train_split), ("eval_split", eval_split)):
        if split not in splits:
            raise DataError(f"{where} field '{key}': the Examples at {examples_uri} have no "
                            f"split '{split}'.{did_you_mean(split, splits)} Their splits: "
                            f"{', '.join(splits) or '(none)'}")
    schema = layout.read_schema(schema_uri) if schema_uri else None
    accessor = ExamplesAccessor()
    train = accessor.pandas(find_split_files(examples_uri, train_split).patterns())
    evaluation = accessor.pandas(find_split_files(examples_uri, eval_split).patterns())
    columns = list(train.columns)
    if label_key not in columns:
        raise DataError(f"{where} field 'label_key': no column '{label_key}' in split "
                        f"'{train_split}' of {examples_uri}.{did_you_mean(label_key, columns)} "
                        f"Columns: {', '.join(columns)}")
    chosen = [c for c in columns if c != label_key] if features is None else list(features)
    _check_columns(chosen, train, train_split, label_key, where)
    _check_columns([*chosen, label_key], evaluation, eval_split, label_key, where)
    kinds = build.feature_kinds(train, chosen, schema)
    dropped = {}
    frames = {}
    for split, frame in ((train_split, train), (eval_split, evaluation)):
        present = frame[label_key].notna()
        dropped[split] = int((~present).sum())
        frames[split] = frame[present].reset_index(drop=True)
    data = TrainingData(task, label_key, kinds, build.categorical_features(kinds, schema),
                        frames[train_split][chosen], None, frames[eval_split][chosen], None,
                        dropped=dropped)
    labels = {s: frames[s][label_key] for s in frames}
    if task == "classification":
        _set_classes(data, labels[train_split], labels[eval_split], eval_split, where)
    else:
        for split, values in labels.items():
            if values.dtype.kind not in "iuf":
                raise DataError(f"{where} field 'label_key': task 'regression' needs a numeric "
                                f"label, but '{label_key}' in split '{split}' holds "
                                f"{values.dtype} values such as {values.iloc[0]!r}; use "
                                f"task='classification'")
        data.train_y = labels[train_split].astype(float).to_numpy()
        data.eval_y = labels[eval_split].astype(float).to_numpy()
    return data


def _check_columns(wanted: list[str], frame: Any, split: str, label_key: str,
                   where: str) -> None:
    import numpy as np

    columns = list(frame.columns)
    for name in wanted:
        if name not in columns:
            field_name = "label_key" if name == label_key else "features"
            raise DataError(f"{where} field '{field_name}': no column '{name}' in split "
                            f"'{split}'.{did_you_mean(name, columns)} Columns: "
                            f"{', '.join(columns)}")
    bad = [name for name in wanted if frame[name].dtype == object
           and frame[name].map(lambda v: isinstance(v, (list, np.ndarray))).any()]
    if bad:
        raise DataError(f"{where} field 'features': {', '.join(bad)} in split '{split}' hold "
                        f"several values in a row; scikit-learn and XGBoost take one value per "
                        f"feature. Leave them out with features=[...]")


def _as_label_text(values: Any) -> Any:
    """Label values as strings; integral floats (ints read with missing values) without
    their ``.0``."""
    if values.dtype.kind == "f" and bool((values == values.round()).all()):
        values = values.astype("int64")
    return values.astype(str)


def _set_classes(data: TrainingData, train: Any, evaluation: Any, eval_split: str,
                 where: str) -> None:
    train_text, eval_text = _as_label_text(train), _as_label_text(evaluation)
    classes = sorted(set(train_text))
    unseen = sorted(set(eval_text) - set(classes))
    if unseen:
        raise DataError(f"{where} field 'label_key': split '{eval_split}' has label values "
                        f"{unseen} that the training split lacks (classes: {classes}); the "
                        f"model cannot predict them")
    if len(classes) < 2:
        raise DataError(f"{where} field 'label_key': the training split has a single class "
                        f"{classes}; classification needs two or more")
    data.classes = classes
    data.train_y = train_text.to_numpy()
    data.eval_y = eval_text.to_numpy()


def fit(data: TrainingData, cls: type, params: Mapping[str, Any], seed: int,
        where: str) -> FitResult:
    """Fit the preprocessing and ``cls(**params)`` on the training split; score both splits.

    The preprocessing is fitted first and the learner on its output (so XGBoost can watch the
    eval split round by round), then both are put into one ``Pipeline``, the saved model.
    """
    from sklearn.pipeline import Pipeline

    model = build.make_estimator(cls, params, seed, where)
    xgboost = _is_xgboost_class(cls)
    started = time.perf_counter()
    preprocessing = build.make_preprocessing(data.kinds, data.categorical,
                                             sparse=build.accepts_sparse(model))
    train_x = preprocessing.fit_transform(data.train_x)
    train_y, eval_y = data.train_y, data.eval_y
    fit_kwargs: dict[str, Any] = {}
    if xgboost:
        if data.classes is not None:
            train_y, eval_y = _encode(train_y, data.classes), _encode(eval_y, data.classes)
        fit_kwargs = {"eval_set": [(train_x, train_y),
                                   (preprocessing.transform(data.eval_x), eval_y)],
                      "verbose": False}
    with build.rejected_parameters(cls, where):
        model.fit(train_x, train_y, **fit_kwargs)
    if xgboost:
        build.check_xgboost_parameters(model, params, where)
    seconds = time.perf_counter() - started
    pipeline = Pipeline([("preprocess", preprocessing), ("model", model)])
    metrics = {"train": score(pipeline, data.train_x, data.train_y, data),
               "eval": score(pipeline, data.eval_x, data.eval_y, data)}
    history: dict[str, dict[str, list[float]]] = {}
    if xgboost:
        rounds = model.evals_result()
        history = {name: {k: [float(v) for v in values] for k, values in rounds[key].items()}
                   for name, key in (("train", "validation_0"), ("eval", "validation_1"))
                   if key in rounds}
    return FitResult(pipeline, metrics, history, seconds)


def _is_xgboost_class(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "xgboost"


def _encode(labels: Any, classes: list[str]) -> Any:
    import numpy as np

    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in labels], dtype=np.int64)


def score(estimator: Any, x: Any, y: Any, data: TrainingData) -> dict[str, float]:
    """Metrics of ``estimator`` on raw features ``x`` and labels ``y`` (label strings for
    classification): ``accuracy`` and ``log_loss``, or ``rmse``, ``mae`` and ``r2``; plus
    ``examples``."""
    import numpy as np
    from sklearn import metrics

    if data.classes is not None:
        probabilities = np.asarray(estimator.predict_proba(x), dtype=np.float64)
        truth = _encode(y, data.classes)
        predicted = probabilities.argmax(axis=1)
        # float32 probabilities (XGBoost) sum to 1 only within 1e-7, which log_loss warns of.
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return {"accuracy": float(metrics.accuracy_score(truth, predicted)),
                "log_loss": float(metrics.log_loss(truth, probabilities,
                                                   labels=list(range(len(data.classes))))),
                "examples": float(len(truth))}
    predictions = np.asarray(estimator.predict(x), dtype=np.float64).reshape(-1)
    result = {"rmse": math.sqrt(float(metrics.mean_squared_error(y, predictions))),
              "mae": float(metrics.mean_absolute_error(y, predictions)),
              "examples": float(len(y))}
    if len(y) > 1:
        result["r2"] = float(metrics.r2_score(y, predictions))
    return result
