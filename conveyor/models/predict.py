"""Loading a Model artifact and computing its predictions, whatever framework trained it.

::

    predictor = load_predictor(model.uri)          # reads model_info.json, then the model
    outputs = predictor.predict(serialized_examples)
    outputs["probabilities"]                       # [n, len(predictor.info.classes)]

The input is always what a server receives: serialized ``tf.train.Example`` protos holding the
raw features (see :mod:`conveyor.models.format`).

- **TensorFlow**: the ``serving_default`` signature of ``Format-Serving/`` is called on batches
  of :data:`BATCH_SIZE` examples; every output of the signature is returned.
- **scikit-learn / XGBoost**: the examples are decoded with tfx-bsl's
  ``ExamplesToRecordBatchDecoder`` into a ``pandas.DataFrame`` with one column per feature the
  estimator was fitted with (``feature_names_in_``, else ``ModelInfo.features``; single-value
  lists flattened, a missing value as ``None``/NaN, bytes
  decoded as UTF-8 text), then ``predict_proba`` (classification) or ``predict`` (regression)
  of ``Format-Estimator/model.joblib`` is called.

TensorFlow, joblib and tfx-bsl are imported only when a model is loaded.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from conveyor.errors import DataError
from conveyor.models.format import (
    ESTIMATOR_DIR,
    ESTIMATOR_FILE,
    PREDICTIONS,
    PROBABILITIES,
    SERVING_DIR,
    SIGNATURE,
    SIGNATURE_INPUT,
    ModelInfo,
    read_model_info,
)

#: Examples per call of a SavedModel signature: large enough to amortise the call, small enough
#: to keep a batch of wide examples a few MB.
BATCH_SIZE = 1024


class Predictor(Protocol):
    """A loaded model answering as a server would."""

    @property
    def info(self) -> ModelInfo:
        """The model's description (framework, task, label, classes, features)."""
        ...

    def predict(self, serialized_examples: Sequence[bytes]) -> dict[str, NDArray[Any]]:
        """The model's outputs for serialized raw ``tf.train.Example`` protos, by output name;
        for classification ``probabilities`` [n, len(classes)], for regression
        ``predictions`` [n]."""
        ...


def load_predictor(model_uri: str) -> Predictor:
    """Load the Model artifact at ``model_uri`` (a directory holding ``model_info.json``).

    Raises :class:`DataError` naming the file when the description or the model files are
    missing or unusable.
    """
    if not os.path.isdir(model_uri):
        raise DataError(f"model directory {model_uri} does not exist")
    info = read_model_info(model_uri)
    if info.framework == "tensorflow":
        return SavedModelPredictor(model_uri, info)
    return EstimatorPredictor(model_uri, info)


def _check_output(info: ModelInfo, outputs: dict[str, NDArray[Any]], n: int, where: str) -> None:
    key = info.output_key
    if key not in outputs:
        raise DataError(f"{where} returned {', '.join(sorted(outputs)) or 'nothing'} but not "
                        f"'{key}', which a {info.task} model must return (see "
                        f"conveyor/models/format.py)")
    value = outputs[key]
    if value.shape[0] != n:
        raise DataError(f"{where} returned {value.shape[0]} rows of '{key}' for {n} examples")
    if key == PROBABILITIES and (value.ndim != 2 or value.shape[1] != len(info.classes or [])):
        raise DataError(f"{where} returned '{key}' of shape {list(value.shape)}; the model "
                        f"describes {len(info.classes or [])} classes {info.classes}, so "
                        f"[n, {len(info.classes or [])}] was expected")


class SavedModelPredictor:
    """A TensorFlow SavedModel's ``serving_default`` signature (see the module docstring)."""

    def __init__(self, model_uri: str, info: ModelInfo) -> None:
        import tensorflow as tf

        self._info = info
        self.path = os.path.join(model_uri, SERVING_DIR)
        if not os.path.isfile(os.path.join(self.path, "saved_model.pb")):
            raise DataError(f"{self.path} holds no SavedModel (saved_model.pb is missing), but "
                            f"{model_uri}/model_info.json says framework 'tensorflow'")
        self._model = tf.saved_model.load(self.path)
        signatures = self._model.signatures
        if SIGNATURE not in signatures:
            raise DataError(f"the SavedModel at {self.path} has no '{SIGNATURE}' signature "
                            f"(it has: {', '.join(signatures) or 'none'})")
        self._signature = signatures[SIGNATURE]
        _, inputs = self._signature.structured_input_signature
        if list(inputs) != [SIGNATURE_INPUT]:
            raise DataError(f"the '{SIGNATURE}' signature of {self.path} takes "
                            f"{', '.join(inputs)}; it must take one input '{SIGNATURE_INPUT}' "
                            f"(serialized tf.train.Example strings)")

    @property
    def info(self) -> ModelInfo:
        """The model's description."""
        return self._info

    def predict(self, serialized_examples: Sequence[bytes]) -> dict[str, NDArray[Any]]:
        """Every output of the signature, concatenated over batches of :data:`BATCH_SIZE`."""
        import tensorflow as tf

        parts: dict[str, list[NDArray[Any]]] = {}
        for start in range(0, len(serialized_examples), BATCH_SIZE):
            batch = tf.constant(list(serialized_examples[start:start + BATCH_SIZE]),
                                dtype=tf.string)
            try:
                answer = self._signature(**{SIGNATURE_INPUT: batch})
            except tf.errors.InvalidArgumentError as err:
                raise DataError(f"the '{SIGNATURE}' signature of {self.path} refused examples "
                                f"{start}..{start + len(batch) - 1}: {err.message.strip()}. "
                                f"Do the examples hold the raw features the model was trained "
                                f"on, with the same types?") from err
            for key, value in answer.items():
                parts.setdefault(key, []).append(value.numpy())
        outputs = {key: np.concatenate(values) for key, values in parts.items()}
        if not serialized_examples:
            return {self._info.output_key: _empty(self._info)}
        if PREDICTIONS in outputs and outputs[PREDICTIONS].ndim == 2 \
                and outputs[PREDICTIONS].shape[1] == 1:
            outputs[PREDICTIONS] = outputs[PREDICTIONS][:, 0]
        _check_output(self._info, outputs, len(serialized_examples),
                      f"the '{SIGNATURE}' signature of {self.path}")
        return outputs


class EstimatorPredictor:
    """A pickled scikit-learn or XGBoost estimator (see the module docstring)."""

    def __init__(self, model_uri: str, info: ModelInfo) -> None:
        import joblib

        self._info = info
        self.path = os.path.join(model_uri, ESTIMATOR_DIR, ESTIMATOR_FILE)
        if not os.path.isfile(self.path):
            raise DataError(f"{self.path} is missing, but {model_uri}/model_info.json says "
                            f"framework '{info.framework}'")
        try:
            self._estimator: Any = joblib.load(self.path)
        except Exception as err:  # unpickling can raise anything the pickled classes raise
            raise DataError(f"cannot load the estimator {self.path}: {type(err).__name__}: "
                            f"{err}") from err
        method = "predict_proba" if info.task == "classification" else "predict"
        if not hasattr(self._estimator, method):
            raise DataError(f"the estimator in {self.path} ({type(self._estimator).__name__}) "
                            f"has no {method}(), which a {info.task} model needs")

    @property
    def info(self) -> ModelInfo:
        """The model's description."""
        return self._info

    def feature_order(self) -> list[str]:
        """The columns the estimator takes, in the order it was fitted with.

        ``model_info.json`` stores features sorted by name; estimators fitted on a DataFrame
        record their own order (``feature_names_in_``), which XGBoost insists on.
        """
        fitted = getattr(self._estimator, "feature_names_in_", None)
        if fitted is not None:
            return [str(name) for name in fitted]
        return list(self._info.features)

    def predict(self, serialized_examples: Sequence[bytes]) -> dict[str, NDArray[Any]]:
        """``predict_proba`` or ``predict`` of the estimator on the decoded raw features."""
        if not serialized_examples:
            return {self._info.output_key: _empty(self._info)}
        frame = examples_to_frame(serialized_examples, self.feature_order())
        if self._info.task == "classification":
            value = np.asarray(self._estimator.predict_proba(frame), dtype=np.float32)
        else:
            value = np.asarray(self._estimator.predict(frame), dtype=np.float32).reshape(-1)
        outputs = {self._info.output_key: value}
        _check_output(self._info, outputs, len(serialized_examples),
                      f"the estimator in {self.path}")
        return outputs


def _empty(info: ModelInfo) -> NDArray[Any]:
    if info.task == "classification":
        return np.zeros((0, len(info.classes or [])), dtype=np.float32)
    return np.zeros((0,), dtype=np.float32)


def examples_to_frame(serialized_examples: Sequence[bytes], features: list[str]) -> Any:
    """Serialized ``tf.train.Example`` protos as a ``pandas.DataFrame`` with a column per name
    in ``features`` (all features found when empty): one value per cell, ``None`` (text) or
    NaN (numbers) where an example lacks the feature, text decoded from UTF-8.

    Raises :class:`DataError` when a feature is absent from every example or holds more than
    one value in some example (estimators take one value per feature).
    """
    import pandas as pd
    import pyarrow as pa
    from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

    batch = ExamplesToRecordBatchDecoder().DecodeBatch(list(serialized_examples))
    names = features or list(batch.schema.names)
    missing = [n for n in names if n not in batch.schema.names]
    if missing:
        raise DataError(f"the examples have no feature {', '.join(map(repr, missing))}, which "
                        f"the model takes (features in the examples: "
                        f"{', '.join(batch.schema.names)})")
    columns: dict[str, Any] = {}
    for name in names:
        column = batch.column(batch.schema.get_field_index(name))
        if pa.types.is_null(column.type):
            columns[name] = [None] * batch.num_rows
            continue
        lengths = column.value_lengths().to_numpy(zero_copy_only=False)
        if (lengths > 1).any():
            row = int(np.argmax(lengths > 1))
            raise DataError(f"feature '{name}' holds {int(lengths[row])} values in example "
                            f"{row}; an estimator takes one value per feature")
        values = column.flatten()
        present = ~np.isnan(lengths.astype(float)) & (lengths == 1)
        flat = values.to_pylist()
        if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
            flat = [v.decode("utf-8", errors="replace") for v in flat]
        cells: list[Any] = [None] * batch.num_rows
        for row, value in zip(np.flatnonzero(present), flat, strict=True):
            cells[row] = value
        columns[name] = cells
    frame = pd.DataFrame(columns)
    for name in names:
        if frame[name].dtype == object and all(
                isinstance(v, (int, float)) or v is None for v in frame[name]):
            frame[name] = pd.to_numeric(frame[name])
    return frame
