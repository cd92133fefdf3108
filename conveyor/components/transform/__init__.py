"""Transform on tensorflow-transform: the user's ``preprocessing_fn``, full-pass analysis on
Beam, the tf.Transform output directory and transformed Examples.

Importing this package loads only the declaration; the executor (:mod:`.executor`, with
:mod:`.user_code` and :mod:`.cache`) imports tf.Transform, TensorFlow and Beam when a node runs.
"""
from conveyor.components.transform.component import SPLITS_CONFIG_KEYS, Transform

__all__ = ["SPLITS_CONFIG_KEYS", "Transform"]
