"""Pusher and InfraValidator: what a push, a label change and a served request cost.

Prints, for a small TensorFlow SavedModel (a penguin classifier as a ``tf.Module``):

* push: wall time of ``push_version`` (lock, copy, fsync, rename, models.config, history,
  retention of 5), median and max over ``--pushes``;
* ``conveyor promote`` / ``conveyor rollback`` as whole CLI processes (no server: no TensorFlow
  import), median over 5 each;
* InfraValidator: the server process's start-up (``tf.saved_model.load`` + gRPC server), and the
  client-side round trip p50/p99 of ``--requests`` PredictRequests of 1 and of 32 serialized
  penguin tf.Examples through TF Serving's gRPC stub.

    .venv/bin/python bench/serving.py [--pushes 20] [--requests 200]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_model(uri: str) -> None:
    """A penguin classifier SavedModel following conveyor.models.format."""
    import tensorflow as tf

    from conveyor.models.format import ModelInfo, write_model_info

    names = ["bill_length_mm", "bill_depth_mm"]
    spec = {n: tf.io.FixedLenFeature([], tf.float32, default_value=40.0) for n in names}

    class Model(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(np.array([[-1.0, 0.8, 0.6], [1.2, 0.3, -1.4]], np.float32))

        @tf.function(  # type: ignore[untyped-decorator]
            input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, examples: Any) -> dict[str, Any]:
            parsed = tf.io.parse_example(examples, spec)
            x = tf.stack([parsed[n] for n in names], axis=1)
            return {"probabilities": tf.nn.softmax(tf.matmul(x, self.w))}

    model = Model()
    tf.saved_model.save(model, os.path.join(uri, "Format-Serving"),
                        signatures={"serving_default": model.serve})
    write_model_info(uri, ModelInfo("tensorflow", "classification", "species",
                                    {n: "float" for n in names}, ["Adelie", "Chinstrap", "Gentoo"]))


def bench_push(model_uri: str, work: str, pushes: int) -> None:
    from conveyor.components.pusher.executor import push_version

    serving = os.path.join(work, "serving")
    times = []
    for i in range(pushes):
        began = time.perf_counter()
        push_version(serving, "penguin", model_uri, canary=i % 2 == 1)
        times.append(time.perf_counter() - began)
    size = sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(os.path.join(model_uri, "Format-Serving"))
               for f in files)
    print(f"push ({size / 1024:.0f} KB SavedModel, retain 5): median "
          f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
          f"over {pushes}")
    walls: dict[str, list[float]] = {"promote": [], "rollback": []}
    for _ in range(5):
        push_version(serving, "penguin", model_uri, canary=True)
        for command in ("promote", "rollback"):  # to the canary, then back to the old stable
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "conveyor", command, "penguin",
                            "--serving-dir", serving], capture_output=True, cwd=REPO, check=True)
            walls[command].append(time.perf_counter() - began)
    for command, values in walls.items():
        print(f"conveyor {command} (whole process, no server): median "
              f"{statistics.median(values) * 1000:.0f} ms over {len(values)}")


def bench_infra(model_uri: str, work: str, requests: int) -> None:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from conveyor.components.pusher.infra import serve

    rng = np.random.default_rng(0)
    examples = []
    for _ in range(32):
        example = tf.train.Example()
        example.features.feature["bill_length_mm"].float_list.value.append(rng.normal(44, 5))
        example.features.feature["bill_depth_mm"].float_list.value.append(rng.normal(17, 2))
        examples.append(example.SerializeToString())
    began = time.perf_counter()
    with serve(os.path.join(model_uri, "Format-Serving"), 120, work) as served:
        ready = time.perf_counter() - began
        print(f"infra server process ready in {ready:.2f} s (model load {served.load_s:.2f} s)")
        with grpc.insecure_channel(served.address) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            for batch in (1, 32):
                request = predict_pb2.PredictRequest()
                request.model_spec.name = "candidate"
                request.inputs["examples"].CopyFrom(
                    tf.make_tensor_proto(examples[:batch], dtype=tf.string))
                stub.Predict(request, timeout=30)  # warm-up: the first call traces
                latencies = []
                for _ in range(requests):
                    start = time.perf_counter()
                    stub.Predict(request, timeout=30)
                    latencies.append((time.perf_counter() - start) * 1000)
                p50, p99 = np.percentile(latencies, [50, 99])
                print(f"Predict, {batch:2d} examples/request: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
                      f" over {requests}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        model_uri = os.path.join(work, "model")
        os.makedirs(model_uri)
        write_model(model_uri)
        bench_push(model_uri, work, args.pushes)
        bench_infra(model_uri, work, args.requests)


if __name__ == "__main__":
    main()
