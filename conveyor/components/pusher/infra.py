"""The InfraValidator's executor (see
:class:`~conveyor.components.pusher.component.InfraValidator`).

Writes an :class:`~conveyor.artifacts.InfraBlessing`::

    {uri}/INFRA_BLESSED  or  {uri}/INFRA_NOT_BLESSED   empty; the verdict
    {uri}/latency.json    requests, examples_per_request, p50_ms, p99_ms, mean_ms, max_ms,
                          load_s (the model's load time in the server process), protocol

with custom properties ``blessed`` (1/0), ``reason`` and ``p50_ms`` / ``p99_ms``.

For TensorFlow the requests are real TensorFlow Serving requests: ``GetModelMetadata`` for the
signature, then ``PredictRequest`` s whose input ``examples`` is ``tf.make_tensor_proto`` of
serialized tf.Examples encoded from the split (tfx-bsl's encoder, whatever the split's payload),
sent through ``PredictionServiceStub`` to the server process of :mod:`.infra_server`. Latency is
the client-side round trip of each request, sent one after another.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from conveyor.artifacts import Examples, InfraBlessing, Model
from conveyor.components.pusher.infra_server import ERROR_PREFIX
from conveyor.data.examples import find_split_files, read_batches
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError
from conveyor.models.format import (
    SERVING_DIR,
    SIGNATURE,
    SIGNATURE_INPUT,
    ModelInfo,
    read_model_info,
)

SERVED_NAME = "candidate"
TF_PROTOCOL = "TensorFlow Serving PredictionService.Predict over gRPC"
ESTIMATOR_PROTOCOL = ("estimator.predict in a child process (TensorFlow Serving cannot serve "
                      "scikit-learn/XGBoost, so there is no gRPC contract)")


class NotServable(Exception):
    """The model failed to load or answer as required; the message is the reason."""


@dataclass
class Served:
    """A running server process of :mod:`.infra_server` and its gRPC address."""

    address: str
    process: subprocess.Popen[bytes]
    load_s: float


def validate(model: Model, examples: Examples, blessing: InfraBlessing,
             context: ExecutionContext, split: str = "eval", num_requests: int = 100,
             examples_per_request: int = 1, timeout_s: float = 120.0) -> None:
    """Query the model as a server would and write the verdict into ``blessing``."""
    batch = _first_rows(examples, split, min(num_requests * examples_per_request, 10_000))
    latencies: list[float] = []
    load_s: float | None = None
    protocol = TF_PROTOCOL
    try:
        try:
            info = read_model_info(model.uri)
        except DataError as err:
            raise NotServable(str(err)) from err
        if info.framework == "tensorflow":
            with serve(os.path.join(model.uri, SERVING_DIR), timeout_s,
                       context.scratch_dir) as served:
                load_s = served.load_s
                query(served.address, info, batch, num_requests, examples_per_request,
                      timeout_s, latencies)
        else:
            protocol = ESTIMATOR_PROTOCOL
            load_s, latencies = query_estimator(model.uri, info, batch, num_requests,
                                                examples_per_request, timeout_s,
                                                context.scratch_dir)
        reason = ""
    except NotServable as failure:
        reason = str(failure)
    report = _latency_report(latencies, examples_per_request, load_s, protocol)
    with open(os.path.join(blessing.uri, "latency.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    verdict = "INFRA_NOT_BLESSED" if reason else "INFRA_BLESSED"
    open(os.path.join(blessing.uri, verdict), "w").close()
    blessing.custom_properties.update({"blessed": 0 if reason else 1, "reason": reason})
    if latencies:
        blessing.custom_properties.update({"p50_ms": report["p50_ms"],
                                           "p99_ms": report["p99_ms"]})
    if reason:
        context.logger.warning("model %s is not infra-blessed: %s", model.uri, reason)
    else:
        context.logger.info("model %s answered %d requests: p50 %.2f ms, p99 %.2f ms",
                            model.uri, len(latencies), report["p50_ms"], report["p99_ms"])


@contextmanager
def serve(saved_model_dir: str, timeout_s: float, scratch_dir: str,
          name: str = SERVED_NAME) -> Iterator[Served]:
    """Start the server process on ``saved_model_dir``; yields once it serves, stops it after.
    NotServable when it exits or is not ready within ``timeout_s``."""
    ready = os.path.join(tempfile.mkdtemp(dir=scratch_dir, prefix="infra-"), "ready.json")
    log_path = f"{ready}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "conveyor.components.pusher.infra_server", "tensorflow",
             saved_model_dir, "--name", name, "--ready-file", ready],
            stdout=subprocess.DEVNULL, stderr=log, env=_child_env())
    try:
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(ready):
            if process.poll() is not None:
                raise NotServable(f"the model server exited (status {process.returncode}) "
                                  f"while loading {saved_model_dir}: {_failure(log_path)}")
            if time.monotonic() > deadline:
                raise NotServable(f"the model server did not load {saved_model_dir} within "
                                  f"{timeout_s:g} s")
            time.sleep(0.05)
        with open(ready, encoding="utf-8") as f:
            started = json.load(f)
        yield Served(f"localhost:{started['port']}", process, float(started["load_s"]))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def query(address: str, info: ModelInfo, batch: pa.RecordBatch, num_requests: int,
          examples_per_request: int, timeout_s: float, latencies: list[float]) -> None:
    """Send the PredictRequests and check every response, appending each round trip's
    latency (ms) to ``latencies`` as it is measured."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        predict_pb2,
        prediction_service_pb2_grpc,
    )
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    serialized = RecordBatchToExamplesEncoder().encode(batch)
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        metadata_request = get_model_metadata_pb2.GetModelMetadataRequest(
            metadata_field=["signature_def"])
        metadata_request.model_spec.name = SERVED_NAME
        try:
            metadata = stub.GetModelMetadata(metadata_request, timeout=timeout_s)
        except grpc.RpcError as err:
            raise NotServable(f"GetModelMetadata failed: {err.code().name}: {err.details()}") \
                from err
        signatures = get_model_metadata_pb2.SignatureDefMap()
        metadata.metadata["signature_def"].Unpack(signatures)
        outputs = _check_signature(signatures, info)
        for i in range(num_requests):
            start = (i * examples_per_request) % len(serialized)
            rows = [serialized[(start + j) % len(serialized)]
                    for j in range(examples_per_request)]
            request = predict_pb2.PredictRequest()
            request.model_spec.name = SERVED_NAME
            request.model_spec.signature_name = SIGNATURE
            request.inputs[SIGNATURE_INPUT].CopyFrom(tf.make_tensor_proto(rows, dtype=tf.string))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotServable(f"{i} of {num_requests} requests answered within "
                                  f"{timeout_s:g} s")
            began = time.perf_counter()
            try:
                response = stub.Predict(request, timeout=remaining)
            except grpc.RpcError as err:
                raise NotServable(f"request {i + 1}: Predict failed: {err.code().name}: "
                                  f"{err.details()}") from err
            latencies.append((time.perf_counter() - began) * 1000)
            shapes = {k: [d.size for d in v.tensor_shape.dim]
                      for k, v in response.outputs.items()}
            _check_answer(f"request {i + 1}", shapes, outputs, info, examples_per_request)


def _check_signature(signatures: Any, info: ModelInfo) -> list[str]:
    """The signature's output names; NotServable when it breaks the model contract."""
    if SIGNATURE not in signatures.signature_def:
        raise NotServable(f"the SavedModel has no '{SIGNATURE}' signature (it has: "
                          f"{', '.join(signatures.signature_def) or 'none'})")
    signature = signatures.signature_def[SIGNATURE]
    if list(signature.inputs) != [SIGNATURE_INPUT]:
        raise NotServable(f"'{SIGNATURE}' must take one input '{SIGNATURE_INPUT}' (serialized "
                          f"tf.Examples); it takes {', '.join(signature.inputs) or 'none'}")
    if info.output_key not in signature.outputs:
        raise NotServable(f"'{SIGNATURE}' of a {info.task} model must return "
                          f"'{info.output_key}'; it returns {', '.join(signature.outputs)}")
    return sorted(signature.outputs)


def _check_answer(where: str, shapes: dict[str, list[int]], outputs: list[str],
                  info: ModelInfo, rows: int) -> None:
    missing = [k for k in outputs if k not in shapes]
    if missing:
        raise NotServable(f"{where}: the response lacks the signature's outputs "
                          f"{', '.join(missing)}")
    for key in outputs:
        if not shapes[key] or shapes[key][0] != rows:
            raise NotServable(f"{where}: output '{key}' has shape {shapes[key]}, expected "
                              f"{rows} rows (one per example sent)")
    answer = shapes[info.output_key]
    if info.task == "classification" and answer[1:] != [len(info.classes or [])]:
        raise NotServable(f"{where}: '{info.output_key}' has shape {answer}, expected "
                          f"[{rows}, {len(info.classes or [])}] (one column per class)")
    if info.task == "regression" and answer[1:] not in ([], [1]):
        raise NotServable(f"{where}: '{info.output_key}' has shape {answer}, expected [{rows}]"
                          f" or [{rows}, 1]")


def query_estimator(model_uri: str, info: ModelInfo, batch: pa.RecordBatch, num_requests: int,
                    examples_per_request: int, timeout_s: float,
                    scratch_dir: str) -> tuple[float, list[float]]:
    """Have a child process load the estimator and answer; returns (load_s, latencies)."""
    work = tempfile.mkdtemp(dir=scratch_dir, prefix="infra-")
    rows_file, result_file = os.path.join(work, "rows.parquet"), os.path.join(work, "out.json")
    flat_rows(batch, info).to_parquet(rows_file)
    log_path = os.path.join(work, "server.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "conveyor.components.pusher.infra_server", "estimator",
             model_uri, "--rows", rows_file, "--requests", str(num_requests),
             "--batch", str(examples_per_request), "--output", result_file],
            stdout=subprocess.DEVNULL, stderr=log, env=_child_env())
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise NotServable(f"the estimator did not load and answer {num_requests} requests "
                          f"within {timeout_s:g} s") from None
    if process.returncode != 0:
        raise NotServable(f"the estimator process failed (status {process.returncode}): "
                          f"{_failure(log_path)}")
    with open(result_file, encoding="utf-8") as f:
        result = json.load(f)
    outputs = [info.output_key]
    for i, shape in enumerate(result["shapes"]):
        _check_answer(f"request {i + 1}", {info.output_key: shape}, outputs, info,
                      examples_per_request)
    return float(result["load_s"]), [float(v) for v in result["latencies_ms"]]


def flat_rows(batch: pa.RecordBatch, info: ModelInfo) -> Any:
    """A pandas DataFrame of the model's raw features: one value per cell (the first of each
    list, None when missing), text as ``str``."""
    import pandas as pd

    names = list(info.features) or [n for n in batch.schema.names if n != info.label_key]
    absent = [n for n in names if n not in batch.schema.names]
    if absent:
        raise NotServable(f"the model takes features {', '.join(absent)}, which the examples "
                          f"lack")
    columns = {}
    for name in names:
        values = [v[0] if v else None for v in batch.column(name).to_pylist()]
        columns[name] = [v.decode() if isinstance(v, bytes) else v for v in values]
    return pd.DataFrame(columns)


def _first_rows(examples: Examples, split: str, rows: int) -> pa.RecordBatch:
    batches = []
    count = 0
    for batch in read_batches(find_split_files(examples.uri, split), batch_rows=rows):
        batches.append(batch)
        count += batch.num_rows
        if count >= rows:
            break
    if not count:
        raise DataError(f"split '{split}' of the Examples at {examples.uri} has no rows to "
                        f"send to the model")
    table = pa.Table.from_batches(batches).slice(0, rows).combine_chunks()
    return table.to_batches()[0]


def _latency_report(latencies: list[float], per_request: int, load_s: float | None,
                    protocol: str) -> dict[str, Any]:
    values = np.asarray(latencies, dtype=float)
    measured = bool(len(values))
    return {
        "requests": len(values), "examples_per_request": per_request, "protocol": protocol,
        "p50_ms": float(np.percentile(values, 50)) if measured else None,
        "p99_ms": float(np.percentile(values, 99)) if measured else None,
        "mean_ms": float(values.mean()) if measured else None,
        "max_ms": float(values.max()) if measured else None,
        "load_s": load_s,
    }


def _failure(log_path: str) -> str:
    with open(log_path, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip() for line in f if line.strip()]
    for line in reversed(lines):
        if line.startswith(ERROR_PREFIX):
            return line[len(ERROR_PREFIX):]
    return " | ".join(lines[-3:]) or "no output"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env

