"""A Keras ``run_fn`` for the Palmer penguins, trained on the output of Transform.

Wire it after :mod:`conveyor.examples.penguin_preprocessing`::

    transform = Transform(examples=gen.outputs.examples, schema=schema.outputs.schema,
                          module_file=".../penguin_preprocessing.py")
    trainer = Trainer(examples=transform.outputs.transformed_examples,
                      transform_graph=transform.outputs.transform_graph,
                      schema=schema.outputs.schema,
                      module_file=".../penguin_keras.py", train_steps=200, eval_steps=5)

The model is a small dense network over every transformed feature except the label: float
features as they are, integer features one-hot encoded over the range tf.Transform recorded in
the transformed schema (vocabularies record one; other integers count as numbers). The label
``species`` is an integer from a tf.Transform vocabulary; the classes are that vocabulary, in
its order.

Exported under ``args.serving_model_dir`` by
:func:`conveyor.components.trainer.keras_export.export_serving_model`: ``serving_default``
takes ``examples`` (serialized raw ``tf.train.Example``), parses them with the raw feature
spec (without the label), applies the transform graph and the model, and returns
``probabilities`` — the preprocessing of training runs inside the served model. The trained
Keras model alone (transformed features in, probabilities out) is also saved, as
``{model_dir}/Format-Keras/model.keras``.

``args.hyperparameters`` may set ``learning_rate`` (default 0.01), ``hidden_units`` (list of
layer widths, default [16, 8]) and ``batch_size`` (default 32).
"""
from __future__ import annotations

import os
from typing import Any

import keras
import tensorflow as tf

from conveyor.components.trainer.args import TrainerArgs
from conveyor.components.trainer.keras_export import export_serving_model, raw_feature_spec
from conveyor.components.trainer.keras_records import training_callbacks

#: The raw label column, its transformed name and the tf.Transform vocabulary of its values.
#: (Named in :mod:`conveyor.examples.penguin_preprocessing`, not imported: it imports tf.Transform.)
LABEL = "species"
TRANSFORMED_LABEL = "species_xf"
LABEL_VOCABULARY = "species"

KERAS_DIR = "Format-Keras"
KERAS_FILE = "model.keras"


def build_model(tft_output: Any, n_classes: int, hidden_units: list[int],
                learning_rate: float) -> keras.Model:
    """A dense classifier over the transformed features of ``tft_output`` (a
    ``tft.TFTransformOutput``)."""
    spec = tft_output.transformed_feature_spec()
    inputs: dict[str, keras.KerasTensor] = {}
    encoded = []
    for name in sorted(spec):
        if name == TRANSFORMED_LABEL:
            continue
        feature = spec[name]
        inputs[name] = keras.Input(shape=(), name=name, dtype=feature.dtype.name)
        known = _int_range(tft_output, name) if feature.dtype.is_integer else None
        if known is not None:
            low, high = known
            shifted = inputs[name]
            if low != 0:  # e.g. -1 for "missing": one-hot needs indices from 0
                shifted = keras.layers.Rescaling(1.0, offset=float(-low),
                                                 name=f"{name}_shift")(shifted)
            encoded.append(keras.layers.CategoryEncoding(high - low + 1, output_mode="one_hot",
                                                         name=f"{name}_onehot")(shifted))
        else:  # a number (an integer without a recorded range counts as one)
            number = keras.layers.Rescaling(1.0, name=f"{name}_float")(inputs[name])
            encoded.append(keras.layers.Reshape((1,), name=f"{name}_column")(number))
    x = keras.layers.Concatenate()(encoded)
    for width in hidden_units:
        x = keras.layers.Dense(width, activation="relu")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _int_range(tft_output: Any, name: str) -> tuple[int, int] | None:
    """The values an integer transformed feature takes, as tf.Transform recorded them in the
    transformed schema (vocabularies record it; a bucketized feature densified afterwards
    does not)."""
    for feature in tft_output.transformed_metadata.schema.feature:
        if feature.name == name and feature.HasField("int_domain"):
            return int(feature.int_domain.min), int(feature.int_domain.max)
    return None


def run_fn(args: TrainerArgs) -> None:
    """Train the penguin classifier and export it with its preprocessing (module docstring)."""
    from tensorflow_transform.output_wrapper import TFTransformOutput

    if args.transform_output is None:
        raise ValueError("penguin_keras.run_fn trains on Transform's output: wire "
                         "transform_graph= (and the transformed examples) into the Trainer")
    tft_output = TFTransformOutput(args.transform_output)
    classes = [c.decode() for c in tft_output.vocabulary_by_name(LABEL_VOCABULARY)]
    hp = args.hyperparameters
    batch_size = int(hp.get("batch_size", 32))
    model = build_model(tft_output, len(classes), list(hp.get("hidden_units", [16, 8])),
                        float(hp.get("learning_rate", 0.01)))
    train = args.data_accessor.tf_dataset(args.train_files, batch_size=batch_size,
                                          label_key=TRANSFORMED_LABEL,
                                          transform_output=args.transform_output)
    evaluation = args.data_accessor.tf_dataset(args.eval_files, batch_size=batch_size,
                                               label_key=TRANSFORMED_LABEL,
                                               transform_output=args.transform_output,
                                               shuffle=False,
                                               num_epochs=None if args.eval_steps else 1)
    if not args.eval_steps:
        # One pass over the eval split per epoch: telling Keras its length up front spares a
        # misleading "input ran out of data" warning at the end of the first pass.
        batches = int(evaluation.reduce(0, lambda count, _: count + 1))
        evaluation = evaluation.apply(tf.data.experimental.assert_cardinality(batches))
    train_steps = args.train_steps or 200
    epochs = max(1, min(10, train_steps // 10))
    model.fit(train, epochs=epochs, steps_per_epoch=max(1, train_steps // epochs),
              validation_data=evaluation, validation_steps=args.eval_steps,
              callbacks=training_callbacks(args), shuffle=False, verbose=0)

    keras_dir = os.path.join(args.model_dir, KERAS_DIR)
    os.makedirs(keras_dir, exist_ok=True)
    model.save(os.path.join(keras_dir, KERAS_FILE))
    export_serving_model(model, args.serving_model_dir, transform_output=args.transform_output,
                         label_key=LABEL, schema_file=args.schema_file)
    raw_features = {name: _kind(spec.dtype) for name, spec in
                    raw_feature_spec(args.transform_output, args.schema_file).items()
                    if name != LABEL}
    args.describe_model(task="classification", label_key=LABEL, classes=classes,
                        features=raw_features)


def _kind(dtype: tf.dtypes.DType) -> str:
    if dtype.is_integer:
        return "int"
    return "float" if dtype.is_floating else "string"
