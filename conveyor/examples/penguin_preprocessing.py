"""The penguin ``preprocessing_fn`` for :class:`~conveyor.components.transform.Transform`.

Raw features (as CsvExampleGen reads the Palmer penguins CSV; the four measurements and ``sex``
are missing in a few rows, so the schema leaves them without a fixed shape and tf.Transform
hands them over as ``SparseTensor`` s)::

    species  island  sex            strings
    bill_length_mm  bill_depth_mm  flipper_length_mm  body_mass_g    numbers
    year                            integer (not used)

Transformed features, every one a dense tensor of shape ``[batch]``:

==========================  =======  ==========================================================
name                        dtype    value
==========================  =======  ==========================================================
``bill_length_mm_xf``       float32  z-score over the analysed split(s); 0 (the mean) if missing
``bill_depth_mm_xf``        float32  same
``flipper_length_mm_xf``    float32  same
``body_mass_g_xf``          float32  same
``body_mass_bucket_xf``     int64    quartile of ``body_mass_g`` (0..3); -1 if missing
``island_xf``               int64    index in the vocabulary file ``island``; 3 = unseen
``sex_xf``                  int64    index in the vocabulary file ``sex`` (missing is the token
                                     ``unknown``); unseen values get the last index
``species_xf``              int64    the label: index in the vocabulary file ``species``
==========================  =======  ==========================================================

The label vocabulary lets a Trainer map class indices back to names::

    output = tft.TFTransformOutput(transform_graph.uri)
    classes = output.vocabulary_by_name(LABEL_VOCABULARY)   # [b'Adelie', b'Gentoo', ...]

Every analyzer reads the raw data (one analysis phase), so tf.Transform's analyzer cache serves
all of them for spans analysed before. This module imports TensorFlow; it is loaded only by the
Transform executor (``Transform(module_file=conveyor.examples.penguin_preprocessing.__file__)``
or ``preprocessing_fn="conveyor.examples.penguin_preprocessing:preprocessing_fn"``).
"""
from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

#: The raw label column and its transformed name.
LABEL_KEY = "species"
TRANSFORMED_LABEL_KEY = "species_xf"
#: The vocabulary file of the label, under ``transform_fn/assets``.
LABEL_VOCABULARY = "species"
NUMERIC_KEYS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
CATEGORICAL_KEYS = ("island", "sex")
#: Bins of ``body_mass_bucket_xf``.
BODY_MASS_BUCKETS = 4


def transformed_name(key: str) -> str:
    """The transformed feature made from raw feature ``key``."""
    return f"{key}_xf"


def _densify(x: Any, default: Any) -> Any:
    """``x`` as a dense ``[batch]`` tensor, ``default`` where a row has no value."""
    if not isinstance(x, tf.SparseTensor):
        return tf.reshape(x, [-1])
    dense = tf.sparse.to_dense(
        tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]), default)
    return tf.squeeze(dense, axis=1)


def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    """The transformed penguin features (see the module docstring)."""
    outputs: dict[str, Any] = {}
    for key in NUMERIC_KEYS:
        value = inputs[key]
        if value.dtype != tf.float32:
            value = tf.cast(value, tf.float32) if not isinstance(value, tf.SparseTensor) \
                else tf.SparseTensor(value.indices, tf.cast(value.values, tf.float32),
                                     value.dense_shape)
        # z-scoring the present values and filling the gaps with 0 afterwards is mean
        # imputation without a second analysis phase.
        outputs[transformed_name(key)] = _densify(tft.scale_to_z_score(value), 0.0)
    buckets = tft.bucketize(inputs["body_mass_g"], BODY_MASS_BUCKETS)
    outputs["body_mass_bucket_xf"] = _densify(buckets, tf.constant(-1, tf.int64))
    outputs[transformed_name("island")] = tft.compute_and_apply_vocabulary(
        _densify(inputs["island"], b""), num_oov_buckets=1, vocab_filename="island")
    outputs[transformed_name("sex")] = tft.compute_and_apply_vocabulary(
        _densify(inputs["sex"], b"unknown"), num_oov_buckets=1, vocab_filename="sex")
    outputs[TRANSFORMED_LABEL_KEY] = tft.compute_and_apply_vocabulary(
        _densify(inputs[LABEL_KEY], b""), vocab_filename=LABEL_VOCABULARY)
    return outputs
