"""InfraValidator: the candidate loaded in a separate process and queried through TensorFlow
Serving's real gRPC PredictionService (protos and stubs of tensorflow-serving-api), with real
penguin examples; scikit-learn models loaded and queried in a child process."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from data_helpers import PENGUINS_CSV, penguin_examples, read_csv, split_rows, write_examples
from serving_helpers import SPECIES, tf_model, write_sklearn_model, write_tf_model

from conveyor import LocalRunner, Pipeline
from conveyor.artifacts import Examples, InfraBlessing, Model
from conveyor.components.pusher import InfraValidator, Pusher, views
from conveyor.components.pusher import executor as pusher_executor
from conveyor.components.pusher import infra as infra_executor
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import ParameterTypeError
from conveyor.models.format import SERVING_DIR, read_model_info


def context(tmp: Path) -> ExecutionContext:
    """An execution context for calling an executor directly."""
    return ExecutionContext(pipeline="test", run_id="r", node_id="infra", execution_id=0,
                            pipeline_root=str(tmp), scratch_dir=str(tmp))


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    """The penguins as train/eval Examples (TFRecords)."""
    uri = str(tmp_path_factory.mktemp("penguins"))
    examples = Examples(uri)
    examples.split_names = write_examples(uri, split_rows(read_csv(PENGUINS_CSV)))
    return examples


@pytest.fixture(scope="module")
def good_model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """A TensorFlow penguin classifier following the model contract."""
    uri = str(tmp_path_factory.mktemp("model"))
    write_tf_model(uri)
    return Model(uri)


def run_validator(model: Model, examples: Examples, tmp: Path, **params: object) -> InfraBlessing:
    """Call the InfraValidator's executor; returns the blessing it wrote."""
    blessing = InfraBlessing(str(tmp / "blessing"))
    os.makedirs(blessing.uri)
    infra_executor.validate(model=model, examples=examples, blessing=blessing,
                            context=context(tmp), **params)  # type: ignore[arg-type]
    return blessing


def test_served_model_answers_predict_requests_like_an_in_process_load(
        good_model: Model, penguins: Examples, tmp_path: Path) -> None:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    from conveyor.data.examples import find_split_files, read_batches

    batch = next(read_batches(find_split_files(penguins.uri, "eval"), batch_rows=7))
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    serialized = RecordBatchToExamplesEncoder().encode(batch)
    saved_model = os.path.join(good_model.uri, SERVING_DIR)
    with infra_executor.serve(saved_model, 120, str(tmp_path), name="penguin") as served:
        assert served.process.pid != os.getpid() and served.process.poll() is None
        with grpc.insecure_channel(served.address) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "penguin"
            request.inputs["examples"].CopyFrom(tf.make_tensor_proto(serialized,
                                                                     dtype=tf.string))
            response = stub.Predict(request, timeout=30)
            metadata_request = get_model_metadata_pb2.GetModelMetadataRequest(
                metadata_field=["signature_def"])
            metadata_request.model_spec.name = "penguin"
            metadata = stub.GetModelMetadata(metadata_request, timeout=30)
            request.model_spec.name = "another"
            with pytest.raises(grpc.RpcError) as unknown:
                stub.Predict(request, timeout=30)
    served_probabilities = tf.make_ndarray(response.outputs["probabilities"])
    served_ids = tf.make_ndarray(response.outputs["class_ids"])
    local = tf.saved_model.load(saved_model).signatures["serving_default"](
        examples=tf.constant(serialized))
    assert served_probabilities.shape == (7, len(SPECIES))
    np.testing.assert_array_equal(served_probabilities, local["probabilities"].numpy())
    np.testing.assert_array_equal(served_ids, local["class_ids"].numpy())
    assert response.model_spec.signature_name == "serving_default"
    signatures = get_model_metadata_pb2.SignatureDefMap()
    metadata.metadata["signature_def"].Unpack(signatures)
    assert set(signatures.signature_def["serving_default"].outputs) == {"probabilities",
                                                                       "class_ids"}
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert served.process.poll() is not None, "the server process is stopped afterwards"


def test_pipeline_infra_blesses_a_good_model_and_pushes_it(penguins: Examples,
                                                           tmp_path: Path) -> None:
    gen = penguin_examples(source=PENGUINS_CSV)
    trainer = tf_model(examples=gen.outputs.examples)
    infra = InfraValidator(model=trainer.outputs.model, examples=gen.outputs.examples,
                           num_requests=30, examples_per_request=4)
    push = Pusher(model=trainer.outputs.model, infra_blessing=infra.outputs.blessing,
                  serving_dir=str(tmp_path / "serving"), model_name="penguin")
    result = LocalRunner().run(Pipeline("infra", [gen, trainer, infra, push],
                                        root=str(tmp_path / "root")))
    blessing = result["infra_validator"].outputs["blessing"][0]
    assert os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))
    assert not os.path.exists(os.path.join(blessing.uri, "INFRA_NOT_BLESSED"))
    assert blessing.custom_properties["blessed"] == 1
    with open(os.path.join(blessing.uri, "latency.json"), encoding="utf-8") as f:
        latency = json.load(f)
    assert latency["requests"] == 30 and latency["examples_per_request"] == 4
    assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert latency["load_s"] > 0 and "gRPC" in latency["protocol"]
    assert blessing.custom_properties["p99_ms"] == pytest.approx(latency["p99_ms"])
    pushed = result["pusher"].outputs["pushed_model"][0]
    assert pushed.custom_properties["pushed"] == 1
    assert pushed.custom_properties["pushed_version"] == 1

    shown = run_cli("show", str(blessing.id), "--root", str(tmp_path / "root"), check=True)
    assert "INFRA_BLESSED: 30 requests of 4 example(s) answered; latency p50" in shown.stdout
    section = views.infra_blessing(blessing)
    assert section is not None and "INFRA_BLESSED: 30 requests" in section


@pytest.mark.parametrize("variant, reason", [
    ("unloadable", "the model server exited"),
    ("two_columns", "'probabilities' has shape [3, 2], expected [3, 3]"),
    ("needs_wings", "request 1: Predict failed: INVALID_ARGUMENT"),
])
def test_a_model_that_does_not_load_or_answers_wrongly_is_not_blessed(
        variant: str, reason: str, penguins: Examples, tmp_path: Path) -> None:
    model = Model(str(tmp_path / "model"))
    os.makedirs(model.uri)
    write_tf_model(model.uri, variant)
    blessing = run_validator(model, penguins, tmp_path, num_requests=3,
                             examples_per_request=3)
    assert os.path.exists(os.path.join(blessing.uri, "INFRA_NOT_BLESSED"))
    assert not os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))
    assert blessing.custom_properties["blessed"] == 0
    assert reason in str(blessing.custom_properties["reason"])
    if variant == "unloadable":
        assert "saved_model" in str(blessing.custom_properties["reason"]).lower()
    refusal = pusher_executor.refusal(None, blessing)
    assert refusal is not None and refusal.startswith("the model is not infra-blessed: ")
    assert reason in refusal
    with open(os.path.join(blessing.uri, "latency.json"), encoding="utf-8") as f:
        assert json.load(f)["requests"] == (1 if variant == "two_columns" else 0)


def test_a_model_without_description_is_not_blessed(penguins: Examples, tmp_path: Path) -> None:
    model = Model(str(tmp_path / "model"))
    os.makedirs(model.uri)
    blessing = run_validator(model, penguins, tmp_path, num_requests=1)
    assert blessing.custom_properties["blessed"] == 0
    assert "model_info.json is missing" in str(blessing.custom_properties["reason"])


def test_sklearn_model_is_loaded_and_queried_in_a_child_process(penguins: Examples,
                                                                 tmp_path: Path) -> None:
    model = Model(str(tmp_path / "model"))
    os.makedirs(model.uri)
    write_sklearn_model(model.uri, PENGUINS_CSV)
    blessing = run_validator(model, penguins, tmp_path, num_requests=10,
                             examples_per_request=5)
    assert blessing.custom_properties["blessed"] == 1, blessing.custom_properties["reason"]
    with open(os.path.join(blessing.uri, "latency.json"), encoding="utf-8") as f:
        latency = json.load(f)
    assert latency["requests"] == 10 and "no gRPC contract" in latency["protocol"]
    assert latency["p50_ms"] <= latency["p99_ms"]

    rows = infra_executor.flat_rows(_eval_batch(penguins), read_model_info(model.uri))
    assert sorted(rows.columns) == ["bill_depth_mm", "bill_length_mm"]
    missing = split_rows(read_csv(PENGUINS_CSV))["eval"]["bill_length_mm"].null_count
    assert missing > 0 and rows["bill_length_mm"].isna().sum() == missing

    with open(os.path.join(model.uri, "Format-Estimator", "model.joblib"), "wb") as f:
        f.write(b"not a pickle")
    broken = run_validator(model, penguins, tmp_path / "again", num_requests=2)
    assert broken.custom_properties["blessed"] == 0
    assert "estimator process failed" in str(broken.custom_properties["reason"])


def test_infra_validator_parameters_are_checked() -> None:
    gen = penguin_examples(source=PENGUINS_CSV)
    trainer = tf_model(examples=gen.outputs.examples)
    with pytest.raises(ParameterTypeError, match=r"num_requests .* must be >= 1, got 0"):
        InfraValidator(model=trainer.outputs.model, examples=gen.outputs.examples,
                       num_requests=0)
    with pytest.raises(ParameterTypeError, match=r"timeout_s .* must be > 0, got 0"):
        InfraValidator(model=trainer.outputs.model, examples=gen.outputs.examples,
                       timeout_s=0)


def _eval_batch(penguins: Examples) -> object:
    from conveyor.data.examples import find_split_files, read_batches

    return next(read_batches(find_split_files(penguins.uri, "eval")))
