"""The model server process the InfraValidator starts: the candidate loaded as a server would.

TensorFlow (no ``tensorflow_model_server`` binary can be installed here)::

    python -m conveyor.components.pusher.infra_server tensorflow SAVED_MODEL_DIR \\
        --name NAME --ready-file READY.json

loads the SavedModel with ``tf.saved_model.load``, as TensorFlow Serving's loader does, and
serves TensorFlow Serving's gRPC ``PredictionService`` on a free localhost port: ``Predict``
runs the requested signature (default ``serving_default``) on the request's input tensors, and
``GetModelMetadata`` returns the SavedModel's ``SignatureDefMap``. When it is ready it writes
``{"port": ..., "load_s": ...}`` to ``READY.json`` (renamed into place, so a reader never sees
half of it) and serves until terminated.

scikit-learn / XGBoost::

    python -m conveyor.components.pusher.infra_server estimator MODEL_URI \\
        --rows ROWS.parquet --requests N --batch K --output RESULT.json

loads ``Format-Estimator/model.joblib``, answers ``N`` batches of ``K`` rows with
``predict_proba`` (classification) or ``predict`` (regression), and writes each answer's shape
and latency to ``RESULT.json``.

Either way a failure ends the process with status 2 and, as the last line on stderr,
``conveyor-infra-error: <what went wrong>``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent import futures
from typing import Any

ERROR_PREFIX = "conveyor-infra-error: "


def serve_tensorflow(saved_model_dir: str, name: str, ready_file: str) -> None:
    """Load the SavedModel and serve ``PredictionService`` until terminated."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    started = time.perf_counter()
    servicer = _servicer_class()(saved_model_dir, name)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    _write_json(ready_file, {"port": port, "load_s": time.perf_counter() - started})
    server.wait_for_termination()


def _servicer_class() -> type:
    # Built on first use: the base class comes from tensorflow_serving, which imports TensorFlow.
    import grpc
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):  # type: ignore[misc]
        """``Predict`` and ``GetModelMetadata`` of one loaded SavedModel (version 1)."""

        def __init__(self, saved_model_dir: str, name: str) -> None:
            self.name = name
            self.model = tf.saved_model.load(saved_model_dir)
            self.signatures = dict(self.model.signatures)
            with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
                saved = saved_model_pb2.SavedModel.FromString(f.read())
            self.signature_defs = get_model_metadata_pb2.SignatureDefMap()
            for key, definition in saved.meta_graphs[0].signature_def.items():
                if key in self.signatures:
                    self.signature_defs.signature_def[key].CopyFrom(definition)

        def _check_spec(self, spec: Any, context: Any) -> None:
            if spec.name != self.name:
                context.abort(grpc.StatusCode.NOT_FOUND,
                              f"Servable not found for request: Latest({spec.name})")

        def Predict(self, request: Any, context: Any) -> Any:
            self._check_spec(request.model_spec, context)
            signature = request.model_spec.signature_name or "serving_default"
            if signature not in self.signatures:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                              f"Serving signature key \"{signature}\" not found.")
            function = self.signatures[signature]
            try:
                inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
                outputs = function(**inputs)
            except (TypeError, ValueError, tf.errors.OpError) as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            response = predict_pb2.PredictResponse()
            response.model_spec.name = self.name
            response.model_spec.version.value = 1
            response.model_spec.signature_name = signature
            wanted = set(request.output_filter) or set(outputs)
            for key, value in outputs.items():
                if key in wanted:
                    response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

        def GetModelMetadata(self, request: Any, context: Any) -> Any:
            self._check_spec(request.model_spec, context)
            if list(request.metadata_field) != ["signature_def"]:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              "Metadata field signature_def is the one supported")
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = self.name
            response.model_spec.version.value = 1
            response.metadata["signature_def"].Pack(self.signature_defs)
            return response

    return PredictionServicer


def answer_estimator(model_uri: str, rows_file: str, requests: int, batch: int,
                     output: str) -> None:
    """Load the estimator and answer ``requests`` batches; write shapes and latencies."""
    import joblib
    import pandas as pd

    from conveyor.models.format import ESTIMATOR_DIR, ESTIMATOR_FILE, read_model_info

    started = time.perf_counter()
    info = read_model_info(model_uri)
    estimator = joblib.load(os.path.join(model_uri, ESTIMATOR_DIR, ESTIMATOR_FILE))
    load_s = time.perf_counter() - started
    rows = pd.read_parquet(rows_file)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:  # model_info.json keeps features sorted; the estimator, fit order
        rows = rows[list(names)]
    answer = estimator.predict_proba if info.task == "classification" else estimator.predict
    shapes, latencies = [], []
    for i in range(requests):
        start = (i * batch) % len(rows)
        chunk = rows.iloc[[(start + j) % len(rows) for j in range(batch)]]
        began = time.perf_counter()
        result = answer(chunk)
        latencies.append((time.perf_counter() - began) * 1000)
        shapes.append(list(getattr(result, "shape", ())))
    _write_json(output, {"load_s": load_s, "latencies_ms": latencies, "shapes": shapes})


def _write_json(path: str, data: dict[str, Any]) -> None:
    with open(f"{path}.tmp", "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(f"{path}.tmp", path)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the server process; returns its exit status."""
    parser = argparse.ArgumentParser(prog="python -m conveyor.components.pusher.infra_server")
    kinds = parser.add_subparsers(dest="kind", required=True)
    tf_parser = kinds.add_parser("tensorflow")
    tf_parser.add_argument("saved_model_dir")
    tf_parser.add_argument("--name", required=True)
    tf_parser.add_argument("--ready-file", required=True)
    est_parser = kinds.add_parser("estimator")
    est_parser.add_argument("model_uri")
    est_parser.add_argument("--rows", required=True)
    est_parser.add_argument("--requests", type=int, required=True)
    est_parser.add_argument("--batch", type=int, required=True)
    est_parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    try:
        if args.kind == "tensorflow":
            serve_tensorflow(args.saved_model_dir, args.name, args.ready_file)
        else:
            answer_estimator(args.model_uri, args.rows, args.requests, args.batch, args.output)
    except Exception as err:  # any failure to load or answer is the verdict
        traceback.print_exc()
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"{ERROR_PREFIX}{type(err).__name__}: {first_line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
