"""The ``preprocessing_fn`` that ``bench/model.py`` runs Transform with, on :mod:`synthetic`'s
twelve columns: every number z-scored, ``score`` also bucketized into deciles, the three
categorical columns through vocabularies (``product`` has ~10,000 values), ``label`` passed on.
Columns with missing values arrive as ``SparseTensor`` s; a gap becomes 0 after z-scoring and
the empty string before a vocabulary. One analysis phase, as a real feature set would have.
"""
from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

NUMERIC = ("age", "income", "score", "height_cm", "visits", "tenure_days", "ratio", "clicks")
CATEGORICAL = ("color", "country", "product")


def _densify(x: Any, default: Any) -> Any:
    if not isinstance(x, tf.SparseTensor):
        return tf.reshape(x, [-1])
    dense = tf.sparse.to_dense(tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]),
                               default)
    return tf.squeeze(dense, axis=1)


def _as_float(x: Any) -> Any:
    if isinstance(x, tf.SparseTensor):
        return tf.SparseTensor(x.indices, tf.cast(x.values, tf.float32), x.dense_shape)
    return tf.cast(x, tf.float32)


def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    """Transformed features ``<column>_xf``, ``score_decile_xf`` and ``label``."""
    outputs: dict[str, Any] = {}
    for key in NUMERIC:
        outputs[f"{key}_xf"] = _densify(tft.scale_to_z_score(_as_float(inputs[key])), 0.0)
    outputs["score_decile_xf"] = _densify(tft.bucketize(_as_float(inputs["score"]), 10),
                                          tf.constant(-1, tf.int64))
    for key in CATEGORICAL:
        outputs[f"{key}_xf"] = tft.compute_and_apply_vocabulary(
            _densify(inputs[key], b""), num_oov_buckets=1, vocab_filename=key)
    outputs["label"] = _densify(inputs["label"], tf.constant(0, tf.int64))
    return outputs
