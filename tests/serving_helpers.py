"""Models, blessings and a TensorFlow Serving ModelService peer for the serving tests.

Models follow the contract of :mod:`conveyor.models.format` without a Trainer:

- :func:`write_tf_model`: a ``tf.Module`` SavedModel whose ``serving_default`` parses serialized
  penguin tf.Examples (bill length and depth) and returns softmax ``probabilities`` over the
  three species from fixed weights; variants break the contract on purpose.
- :func:`write_sklearn_model`: a scikit-learn pipeline (imputer + logistic regression) fitted on
  the penguins, in ``Format-Estimator/model.joblib``.

:class:`RecordingModelServer` is an in-process gRPC server implementing TensorFlow Serving's
``ModelServiceServicer`` with the real protos: it records every config it is sent and reports a
version AVAILABLE when the version is in the last config and its directory exists.
"""
from __future__ import annotations

import os
import threading
from concurrent import futures
from typing import Any

import numpy as np

from conveyor import In, Out, component
from conveyor.artifacts import Examples, Model, ModelBlessing
from conveyor.models.format import ESTIMATOR_DIR, ESTIMATOR_FILE, SERVING_DIR, ModelInfo
from conveyor.models.format import write_model_info as write_info

SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
FEATURES = {"bill_length_mm": "float", "bill_depth_mm": "float"}
WEIGHTS = np.array([[-1.0, 0.8, 0.6], [1.2, 0.3, -1.4]], dtype=np.float32)
BIAS = np.array([10.0, -28.0, 12.0], dtype=np.float32)


def write_tf_model(uri: str, variant: str = "") -> None:
    """A penguin classifier SavedModel under ``uri/Format-Serving`` plus ``model_info.json``.

    ``variant``: ``""`` (follows the contract), ``"two_columns"`` (probabilities with 2
    columns), ``"unloadable"`` (``saved_model.pb`` is not a SavedModel), ``"needs_wings"``
    (requires a feature the penguins lack: every request fails), ``"scale=X"`` (the weights
    scaled by X: another, different but valid model)."""
    import tensorflow as tf

    path = os.path.join(uri, SERVING_DIR)
    write_info(uri, ModelInfo(framework="tensorflow", task="classification",
                              label_key="species", features=dict(FEATURES), classes=SPECIES))
    if variant == "unloadable":
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "saved_model.pb"), "wb") as f:
            f.write(b"this is not a SavedModel")
        return
    scale = float(variant.split("=")[1]) if variant.startswith("scale=") else 1.0
    columns = 2 if variant == "two_columns" else 3
    spec = {name: tf.io.FixedLenFeature([], tf.float32, default_value=40.0) for name in FEATURES}
    if variant == "needs_wings":
        spec["wing_span_mm"] = tf.io.FixedLenFeature([], tf.float32)  # no default: required

    class PenguinModel(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(WEIGHTS[:, :columns] * scale)
            self.b = tf.Variable(BIAS[:columns] * scale)

        @tf.function(  # type: ignore[untyped-decorator]
            input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples: Any) -> dict[str, Any]:
            parsed = tf.io.parse_example(examples, spec)
            x = tf.stack([parsed[name] for name in FEATURES], axis=1)
            logits = tf.matmul(x, self.w) + self.b
            return {"probabilities": tf.nn.softmax(logits),
                    "class_ids": tf.argmax(logits, axis=1)}

    module = PenguinModel()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


def write_sklearn_model(uri: str, csv_path: str) -> None:
    """A scikit-learn penguin classifier fitted on ``csv_path``, as Format-Estimator."""
    import joblib
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    frame = pd.read_csv(csv_path)
    estimator = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500))
    estimator.fit(frame[list(FEATURES)], frame["species"])
    assert list(estimator.classes_) == SPECIES
    os.makedirs(os.path.join(uri, ESTIMATOR_DIR), exist_ok=True)
    joblib.dump(estimator, os.path.join(uri, ESTIMATOR_DIR, ESTIMATOR_FILE))
    write_info(uri, ModelInfo(framework="sklearn", task="classification", label_key="species",
                              features=dict(FEATURES), classes=SPECIES))


@component
def tf_model(examples: In[Examples], model: Out[Model], variant: str = "") -> None:
    """Stands for a Trainer: a fixed-weight TensorFlow penguin classifier (see
    :func:`write_tf_model`); ``examples`` only gives it lineage to the data."""
    del examples
    write_tf_model(model.uri, variant)


@component
def sklearn_model(examples: In[Examples], model: Out[Model], csv_path: str) -> None:
    """Stands for a Trainer: a scikit-learn classifier fitted on the penguins CSV."""
    del examples
    write_sklearn_model(model.uri, csv_path)


@component
def bless(model: In[Model], blessing: Out[ModelBlessing], blessed: bool = True,
          reason: str = "") -> None:
    """Stands for an Evaluator: a BLESSED or NOT_BLESSED verdict with ``reason``."""
    marker = "BLESSED" if blessed else "NOT_BLESSED"
    open(os.path.join(blessing.uri, marker), "w").close()
    blessing.custom_properties.update({"blessed": int(blessed), "reason": reason,
                                       "current_model": model.uri})


class RecordingModelServer:
    """A TensorFlow Serving ``ModelService`` peer on a free localhost port (see the module
    docstring). ``load_versions=False`` never reports a version AVAILABLE."""

    def __init__(self, load_versions: bool = True) -> None:
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc

        self.configs: list[Any] = []
        self.load_versions = load_versions
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(self._servicer(), self._server)
        self.port = self._server.add_insecure_port("localhost:0")
        self.address = f"localhost:{self.port}"
        self._server.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop(None)

    def _servicer(self) -> Any:
        import grpc
        from tensorflow_serving.apis import (
            get_model_status_pb2,
            model_management_pb2,
            model_service_pb2_grpc,
        )

        recorder = self

        class Servicer(model_service_pb2_grpc.ModelServiceServicer):  # type: ignore[misc]
            def HandleReloadConfigRequest(self, request: Any, context: Any) -> Any:
                with recorder._lock:
                    recorder.configs.append(request.config)
                return model_management_pb2.ReloadConfigResponse()

            def GetModelStatus(self, request: Any, context: Any) -> Any:
                with recorder._lock:
                    config = recorder.configs[-1] if recorder.configs else None
                models = {m.name: m for m in config.model_config_list.config} if config else {}
                model = models.get(request.model_spec.name)
                version = request.model_spec.version.value
                if model is None or version not in model.model_version_policy.specific.versions:
                    context.abort(grpc.StatusCode.NOT_FOUND,
                                  f"Could not find version {version} of model "
                                  f"{request.model_spec.name}")
                assert model is not None
                on_disk = os.path.isdir(os.path.join(model.base_path, str(version)))
                state = get_model_status_pb2.ModelVersionStatus.State
                response = get_model_status_pb2.GetModelStatusResponse()
                status = response.model_version_status.add()
                status.version = version
                status.state = (state.AVAILABLE if on_disk and recorder.load_versions
                                else state.LOADING)
                return response

        return Servicer()


def config_labels(config: Any) -> tuple[list[int], dict[str, int]]:
    """(versions, labels) of the single model of a ModelServerConfig."""
    (model,) = config.model_config_list.config
    return sorted(model.model_version_policy.specific.versions), dict(model.version_labels)
