"""Small real models of the penguins, written as Model artifacts by the contract of
``conveyor/models/format.py``, for the Evaluator tests (and anyone else who needs a model
without a Trainer).

- :func:`write_keras_model`: a Keras classifier on the four measurements, exported as a
  ``tf.Module`` whose ``serving_default`` parses serialized raw ``tf.train.Example``;
- :func:`write_constant_model`: a TensorFlow SavedModel answering the same probabilities for
  every example (a deliberately bad model);
- :func:`write_sklearn_model`: a scikit-learn Pipeline (imputation, one-hot, logistic
  regression) dumped with joblib, optionally trained on shuffled labels (a bad model).
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa

from conveyor import Out, component
from conveyor.artifacts import Model
from conveyor.models.format import (
    ESTIMATOR_DIR,
    ESTIMATOR_FILE,
    SERVING_DIR,
    ModelInfo,
    write_model_info,
)

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]
LABEL = "species"


def classes_of(frame: pd.DataFrame) -> list[str]:
    """The label values, sorted: the order of the probability columns."""
    return sorted(str(v) for v in frame[LABEL].dropna().unique())


def write_sklearn_model(uri: str, train: pd.DataFrame, *, shuffle_labels: bool = False,
                        seed: int = 0) -> ModelInfo:
    """Fit and write a scikit-learn classifier; ``shuffle_labels`` makes it guess."""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    classes = classes_of(train)
    labels = train[LABEL].to_numpy()
    if shuffle_labels:
        labels = np.random.default_rng(seed).permutation(labels)
    pipeline = Pipeline([
        ("features", ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                         OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
        ])),
        ("classify", LogisticRegression(max_iter=500)),
    ])
    pipeline.fit(train[NUMERIC + CATEGORICAL], labels)
    assert [str(c) for c in pipeline.classes_] == classes
    os.makedirs(os.path.join(uri, ESTIMATOR_DIR), exist_ok=True)
    joblib.dump(pipeline, os.path.join(uri, ESTIMATOR_DIR, ESTIMATOR_FILE))
    info = ModelInfo(framework="sklearn", task="classification", label_key=LABEL,
                     features={**{n: "float" for n in NUMERIC},
                               **{n: "string" for n in CATEGORICAL}},
                     classes=classes)
    write_model_info(uri, info)
    return info


def _parse(serialized: object, integers: set[str]) -> object:
    """The measurements of serialized examples as a float matrix (absent values as 0)."""
    import tensorflow as tf

    spec = {n: tf.io.FixedLenFeature([1], tf.int64 if n in integers else tf.float32,
                                     default_value=[0]) for n in NUMERIC}
    parsed = tf.io.parse_example(serialized, spec)
    return tf.concat([tf.cast(parsed[n], tf.float32) for n in NUMERIC], axis=1)


def write_keras_model(uri: str, table: pa.Table, *, epochs: int = 60) -> ModelInfo:
    """Fit a small Keras classifier on the measurements of ``table`` and export it as a
    ``tf.Module``."""
    import tensorflow as tf

    train = table.to_pandas()
    # Integer columns with nulls turn into floats in pandas; the examples keep int64.
    integers = {n for n in NUMERIC if pa.types.is_integer(table.schema.field(n).type)}

    keras = tf.keras
    classes = classes_of(train)
    x = train[NUMERIC].fillna(train[NUMERIC].mean()).to_numpy(np.float32)
    y = np.asarray([classes.index(str(v)) for v in train[LABEL]])
    normalize = keras.layers.Normalization()
    normalize.adapt(x)
    model = keras.Sequential([keras.Input((len(NUMERIC),)), normalize,
                              keras.layers.Dense(len(classes), activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)

    class Serving(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"probabilities": self.model(_parse(examples, integers))}

    module = Serving()
    tf.saved_model.save(module, os.path.join(uri, SERVING_DIR),
                        signatures={"serving_default": module.serve})
    info = ModelInfo(framework="tensorflow", task="classification", label_key=LABEL,
                     features={n: "float" for n in NUMERIC}, classes=classes)
    write_model_info(uri, info)
    return info


def write_constant_model(uri: str, classes: list[str]) -> ModelInfo:
    """A SavedModel giving every example the same probabilities (the first class highest)."""
    import tensorflow as tf

    k = len(classes)
    answer = np.full(k, 0.5 / max(k - 1, 1), dtype=np.float32)
    answer[0] = 0.5 if k > 1 else 1.0

    class Constant(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples: tf.Tensor) -> dict[str, tf.Tensor]:
            n = tf.shape(examples)[0]
            return {"probabilities": tf.tile(tf.constant(answer)[None, :], [n, 1])}

    module = Constant()
    tf.saved_model.save(module, os.path.join(uri, SERVING_DIR),
                        signatures={"serving_default": module.serve})
    info = ModelInfo(framework="tensorflow", task="classification", label_key=LABEL,
                     classes=classes)
    write_model_info(uri, info)
    return info


@component
def stored_model(source: str, model: Out[Model]) -> None:
    """Publishes a copy of the model directory ``source`` (written by a function above)."""
    shutil.copytree(source, model.uri, dirs_exist_ok=True)


def write_regression_model(uri: str, train: pd.DataFrame, label: str = "body_mass_g") -> ModelInfo:
    """Fit and write a scikit-learn regressor of ``label`` from the other measurements."""
    import joblib
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    features = [n for n in NUMERIC if n != label]
    rows = train[train[label].notna()]
    pipeline = make_pipeline(SimpleImputer(), LinearRegression())
    pipeline.fit(rows[features], rows[label])
    os.makedirs(os.path.join(uri, ESTIMATOR_DIR), exist_ok=True)
    joblib.dump(pipeline, os.path.join(uri, ESTIMATOR_DIR, ESTIMATOR_FILE))
    info = ModelInfo(framework="sklearn", task="regression", label_key=label,
                     features={n: "float" for n in features})
    write_model_info(uri, info)
    return info


def write_xgboost_model(uri: str, train: pd.DataFrame) -> ModelInfo:
    """Fit and write an XGBoost classifier on the measurements (it takes missing values)."""
    import joblib
    from xgboost import XGBClassifier

    classes = classes_of(train)
    labels = [classes.index(str(v)) for v in train[LABEL]]
    model = XGBClassifier(n_estimators=20, max_depth=3)
    model.fit(train[NUMERIC], labels)
    os.makedirs(os.path.join(uri, ESTIMATOR_DIR), exist_ok=True)
    joblib.dump(model, os.path.join(uri, ESTIMATOR_DIR, ESTIMATOR_FILE))
    info = ModelInfo(framework="xgboost", task="classification", label_key=LABEL,
                     features={n: "float" for n in NUMERIC}, classes=classes)
    write_model_info(uri, info)
    return info
