"""Exporting a Keras model trained on tf.Transform output as the served model of the contract
in :mod:`conveyor.models.format`: serialized raw ``tf.Example`` in, the transform graph and the
model inside, ``probabilities`` (or ``predictions``) out::

    export_serving_model(model, args.serving_model_dir,
                         transform_output=args.transform_output, label_key="species")

How the transform graph is applied, and why not with ``transform_features_layer()``: that
layer is a ``tf_keras`` model, and saving a SavedModel that tracks one makes ``tf_keras``
trace a default signature of it through autograph, which converts tf_keras's and
tf.Transform's Python code on every export (15-30 s here, more than training the penguin
model). Instead the tf.Transform output's own SavedModel (``transform_fn/``) is loaded with
``tf.saved_model.load`` and its ``transform_fn`` called directly, as tf.Transform's loader
does; the label, absent from serving requests, is fed as an empty value of its type and its
transformed value dropped. The test suite checks the result against
``TFTransformOutput.transform_raw_features`` to 1e-5.

Limit: the empty label (``""``, ``0`` or an empty sparse value) goes through the
``preprocessing_fn``'s label branch, so that branch must accept it (vocabularies and
arithmetic do; ``tf.strings.to_number`` on a text label would fail at serving time: convert
such labels in ``run_fn``, or give the label a numeric type in the data).
"""
from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from conveyor.models.format import PREDICTIONS, PROBABILITIES, SIGNATURE, SIGNATURE_INPUT


def raw_feature_spec(transform_output: str, schema_file: str | None = None) -> dict[str, Any]:
    """The feature spec of raw tf.Examples: the one tf.Transform recorded (``metadata/``, as
    Transform writes it), else the schema's."""
    from tensorflow_transform.output_wrapper import TFTransformOutput

    try:
        return dict(TFTransformOutput(transform_output).raw_feature_spec())
    except OSError:
        if schema_file is None:
            raise ValueError(f"the transform graph at {transform_output} records no raw "
                             f"feature spec: wire the schema into the Trainer (schema=...)") \
                from None
    from tensorflow_transform.tf_metadata import schema_utils

    from conveyor.data.layout import read_schema_file

    schema = read_schema_file(schema_file)
    return dict(schema_utils.schema_as_feature_spec(schema).feature_spec)


class ServingModule(tf.Module):  # type: ignore[misc]  # TensorFlow is untyped
    """Raw serialized tf.Examples in, the model's answer out (the transform graph inside)."""

    def __init__(self, model: keras.Model, transform_output: str, raw_spec: dict[str, Any],
                 label_key: str, output_key: str = PROBABILITIES) -> None:
        super().__init__()
        from tensorflow_transform.output_wrapper import TFTransformOutput

        self.model = model
        self.transform = tf.saved_model.load(
            TFTransformOutput(transform_output).transform_savedmodel_dir)
        (inputs,), _ = self.transform.transform_fn.structured_input_signature
        self.transform_inputs: dict[str, Any] = dict(inputs)
        self.raw_spec = {k: v for k, v in raw_spec.items() if k != label_key}
        self.feature_names = sorted(model.input.keys()) if isinstance(model.input, dict) \
            else None
        self.output_key = output_key

    def _placeholder(self, spec: Any, rows: tf.Tensor) -> Any:
        """An empty value of ``spec`` (a feature serving requests do not carry)."""
        if isinstance(spec, tf.SparseTensorSpec):
            return tf.SparseTensor(tf.zeros([0, 2], tf.int64), tf.zeros([0], spec.dtype),
                                   tf.stack([rows, tf.constant(1, tf.int64)]))
        shape = tf.concat([[rows], tf.constant([d or 1 for d in spec.shape[1:]], tf.int64)],
                          axis=0)
        return tf.zeros(shape, spec.dtype) if spec.dtype != tf.string else tf.fill(shape, "")

    # autograph=False: nothing here branches on tensors, and tracing stays well under a second.
    @tf.function(  # type: ignore[untyped-decorator]
        input_signature=[tf.TensorSpec([None], tf.string, name=SIGNATURE_INPUT)],
        autograph=False)
    def serve(self, examples: tf.Tensor) -> dict[str, tf.Tensor]:
        """``serving_default``: parse, transform, predict."""
        raw = tf.io.parse_example(examples, self.raw_spec)
        rows = tf.shape(examples, out_type=tf.int64)[0]
        feed = {name: raw[name] if name in raw else self._placeholder(spec, rows)
                for name, spec in self.transform_inputs.items()}
        transformed = self.transform.transform_fn(feed)
        if self.feature_names is not None:
            transformed = {name: transformed[name] for name in self.feature_names}
        return {self.output_key: self.model(transformed, training=False)}


def export_serving_model(model: keras.Model, serving_model_dir: str, *, transform_output: str,
                         label_key: str, schema_file: str | None = None,
                         task: str = "classification") -> None:
    """Save ``model`` (taking transformed features by name) with the transform graph of
    ``transform_output`` in front of it, as the ``serving_default`` of a SavedModel."""
    module = ServingModule(model, transform_output,
                           raw_feature_spec(transform_output, schema_file), label_key,
                           PROBABILITIES if task == "classification" else PREDICTIONS)
    tf.saved_model.save(module, serving_model_dir, signatures={SIGNATURE: module.serve})
