"""Checking that an exported SavedModel honours the serving contract of
:mod:`conveyor.models.format`, before the Model artifact is published.

Reads the ``saved_model.pb`` proto only (no graph is loaded, no variable restored), so the
check costs milliseconds: a ``serving_default`` signature with one string input ``examples``
of shape ``[None]``, and a float output ``probabilities`` (with one column per class when the
width is known) or ``predictions``.
"""
from __future__ import annotations

import os

from conveyor.errors import ExecutionError
from conveyor.models.format import SIGNATURE, SIGNATURE_INPUT, ModelInfo

SAVED_MODEL_FILE = "saved_model.pb"


def check_serving_model(serving_dir: str, info: ModelInfo, where: str) -> None:
    """Raise :class:`ExecutionError` (prefixed by ``where``) unless the SavedModel in
    ``serving_dir`` has the serving signature ``info`` describes."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(serving_dir, SAVED_MODEL_FILE)
    if not os.path.isfile(path):
        raise ExecutionError(
            f"{where} exported no model: {path} does not exist. Save a TensorFlow SavedModel "
            f"to args.serving_model_dir (tf.saved_model.save(module, args.serving_model_dir, "
            f"signatures={{'{SIGNATURE}': ...}})), or return a fitted scikit-learn/XGBoost "
            f"estimator from the function")
    saved = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        saved.ParseFromString(f.read())
    signatures = {name: s for graph in saved.meta_graphs for name, s in graph.signature_def.items()
                  if not name.startswith("__")}
    fix = (f"export a '{SIGNATURE}' signature taking '{SIGNATURE_INPUT}' (tf.TensorSpec([None], "
           f"tf.string), serialized raw tf.Examples) and returning '{info.output_key}'; see "
           f"conveyor.models.format")
    signature = signatures.get(SIGNATURE)
    if signature is None:
        raise ExecutionError(f"{where}: the SavedModel in {serving_dir} has no '{SIGNATURE}' "
                             f"signature (it has: {', '.join(sorted(signatures)) or 'none'}); "
                             f"{fix}")
    inputs = dict(signature.inputs)
    examples = inputs.get(SIGNATURE_INPUT)
    if set(inputs) != {SIGNATURE_INPUT} or examples is None \
            or examples.dtype != types_pb2.DT_STRING or len(examples.tensor_shape.dim) != 1:
        described = ", ".join(f"{k} ({types_pb2.DataType.Name(v.dtype)}, rank "
                              f"{len(v.tensor_shape.dim)})" for k, v in sorted(inputs.items()))
        raise ExecutionError(f"{where}: the '{SIGNATURE}' signature takes {described or 'nothing'}"
                             f", not one '{SIGNATURE_INPUT}' string vector; {fix}")
    output = signature.outputs.get(info.output_key)
    if output is None:
        raise ExecutionError(f"{where}: the '{SIGNATURE}' signature returns "
                             f"{', '.join(sorted(signature.outputs))}, not '{info.output_key}' "
                             f"(task '{info.task}'); {fix}")
    if output.dtype not in (types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE, types_pb2.DT_HALF):
        raise ExecutionError(f"{where}: output '{info.output_key}' is "
                             f"{types_pb2.DataType.Name(output.dtype)}; it must be float")
    dims = [d.size for d in output.tensor_shape.dim]
    if info.task == "classification" and info.classes and len(dims) == 2 and dims[1] > 0 \
            and dims[1] != len(info.classes):
        raise ExecutionError(f"{where}: output '{info.output_key}' has {dims[1]} columns but the "
                             f"model describes {len(info.classes)} classes {info.classes}; "
                             f"pass describe_model(classes=...) in the order of the columns")
