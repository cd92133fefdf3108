"""The Trainer on the Palmer penguins with the real stack: CsvExampleGen -> StatisticsGen ->
SchemaGen -> Transform -> Trainer(penguin_keras) through the LocalRunner once per module, then
the served model against the Keras model on Transform's output (no training/serving skew),
training records, lineage, determinism and every bad-input error through the executor."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_cli

from conveyor import LocalRunner, Pipeline
from conveyor.artifacts import Examples, HyperParameters, Model, ModelRun, Schema, TransformGraph
from conveyor.components.examplegen import CsvExampleGen
from conveyor.components.trainer import executor as trainer_executor
from conveyor.components.trainer.component import Trainer
from conveyor.components.trainer.data import ExamplesAccessor
from conveyor.components.transform.component import Transform
from conveyor.components.validate import SchemaGen, StatisticsGen
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import ArgumentError, DataError, ExecutionError, ModuleFileError
from conveyor.metadata import MetadataConfig, connect
from conveyor.metadata.records import CACHED, COMPLETE, FAILED, ArtifactRecord
from conveyor.models.format import read_model_info
from conveyor.orchestrators.local import RunResult
from conveyor.orchestrators.notebook_views import artifact_html

TRAIN_STEPS = 100


def module_path(name: str) -> str:
    """The file of a module of conveyor.examples, found without importing it."""
    spec = importlib.util.find_spec(f"conveyor.examples.{name}")
    assert spec is not None and spec.origin is not None
    return spec.origin


def penguins_dir() -> str:
    spec = importlib.util.find_spec("palmerpenguins")
    assert spec is not None and spec.submodule_search_locations
    return os.path.join(next(iter(spec.submodule_search_locations)), "data")


def penguin_pipeline(root: Path, trainer_module: str, **trainer_args: Any) -> Pipeline:
    """ExampleGen -> StatisticsGen -> SchemaGen -> Transform -> Trainer on the penguins."""
    gen = CsvExampleGen(input_base=penguins_dir(), pattern="penguins.csv")
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    transform = Transform(examples=gen.outputs.examples, schema=schema.outputs.schema,
                          module_file=module_path("penguin_preprocessing"))
    trainer = Trainer(examples=transform.outputs.transformed_examples,
                      transform_graph=transform.outputs.transform_graph,
                      schema=schema.outputs.schema, module_file=trainer_module, **trainer_args)
    return Pipeline("penguin", [gen, stats, schema, transform, trainer], root=str(root))


@dataclass
class Trained:
    """The module's one pipeline run, and its artifacts."""

    root: Path
    result: RunResult

    def output(self, node: str, key: str) -> ArtifactRecord:
        return self.result[node].outputs[key][0]

    @property
    def model_uri(self) -> str:
        return self.output("trainer", "model").uri

    @property
    def model_run_uri(self) -> str:
        return self.output("trainer", "model_run").uri

    @property
    def graph_uri(self) -> str:
        return self.output("transform", "transform_graph").uri

    @property
    def raw_examples_uri(self) -> str:
        return self.output("csv_example_gen", "examples").uri

    @property
    def transformed_uri(self) -> str:
        return self.output("transform", "transformed_examples").uri

    @property
    def schema_uri(self) -> str:
        return self.output("schema_gen", "schema").uri


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("trainer") / "root"
    result = LocalRunner().run(penguin_pipeline(root, module_path("penguin_keras"),
                                                train_steps=TRAIN_STEPS))
    return Trained(root, result)


def context(tmp: Path) -> ExecutionContext:
    """An execution context for calling the executor directly."""
    return ExecutionContext(pipeline="test", run_id="r", node_id="trainer", execution_id=0,
                            pipeline_root=str(tmp), scratch_dir=str(tmp), beam_args=[])


def call_trainer(trained: Trained, tmp: Path, module_file: str | None, *,
                 run_fn: str = "run_fn", train_steps: int | None = 20, seed: int = 0,
                 hyperparameters: HyperParameters | None = None,
                 train_split: str = "train") -> tuple[Model, ModelRun]:
    """Run the Trainer executor on the module run's artifacts into fresh directories."""
    model, model_run = Model(str(tmp / "model")), ModelRun(str(tmp / "model_run"))
    os.makedirs(model.uri)
    os.makedirs(model_run.uri)
    examples = Examples(trained.transformed_uri, properties={"span": 0,
                                                             "split_names": ["train", "eval"]})
    trainer_executor.run(
        examples=examples, transform_graph=TransformGraph(trained.graph_uri),
        schema=Schema(trained.schema_uri), hyperparameters=hyperparameters,
        module_file=module_file, run_fn=run_fn, train_steps=train_steps, eval_steps=None,
        train_split=train_split, eval_split="eval", custom_config={}, seed=seed, model=model,
        model_run=model_run, context=context(tmp))
    return model, model_run


def write_module(tmp: Path, body: str) -> str:
    path = tmp / "user_model.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def read_epochs(model_run_uri: str) -> list[dict[str, float]]:
    with open(os.path.join(model_run_uri, "metrics.json"), encoding="utf-8") as f:
        epochs: list[dict[str, float]] = json.load(f)["epochs"]
    return epochs


# ---- (a) the pipeline ----------------------------------------------------------------------

def test_pipeline_publishes_a_served_model_described_by_model_info(trained: Trained) -> None:
    assert {r.node_id: r.state for r in trained.result.nodes} == {
        "csv_example_gen": COMPLETE, "statistics_gen": COMPLETE, "schema_gen": COMPLETE,
        "transform": COMPLETE, "trainer": COMPLETE}
    info = read_model_info(trained.model_uri)
    assert (info.framework, info.task, info.label_key) == ("tensorflow", "classification",
                                                           "species")
    assert sorted(info.classes or []) == ["Adelie", "Chinstrap", "Gentoo"]
    from tensorflow_transform.output_wrapper import TFTransformOutput

    vocabulary = TFTransformOutput(trained.graph_uri).vocabulary_by_name("species")
    assert info.classes == [v.decode() for v in vocabulary]
    assert set(info.features) == {"island", "sex", "bill_length_mm", "bill_depth_mm",
                                  "flipper_length_mm", "body_mass_g", "year"}
    assert info.features["island"] == "string"
    assert os.path.isfile(os.path.join(trained.model_uri, "Format-Serving", "saved_model.pb"))
    model = trained.output("trainer", "model")
    assert model.custom_properties["val_accuracy"] > 0.9  # penguins are easy to tell apart


# ---- (b) no training/serving skew ----------------------------------------------------------

SERVE_SCRIPT = """
import sys, glob, numpy as np, tensorflow as tf
model_dir, examples_dir, out = sys.argv[1:]
files = sorted(glob.glob(examples_dir + "/*"))
records = list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
served = tf.saved_model.load(model_dir).signatures["serving_default"]
result = served(examples=tf.constant(records))
np.save(out, result["probabilities"].numpy())
"""


def test_served_model_equals_model_on_transform_output(trained: Trained, tmp_path: Path) -> None:
    """Held-out raw eval rows through the served SavedModel (another process, as a server
    would load it) == the Keras model on the same rows transformed by tf.Transform."""
    import glob

    import keras
    import tensorflow as tf
    from tensorflow_transform.output_wrapper import TFTransformOutput

    eval_dir = os.path.join(trained.raw_examples_uri, "Split-eval")
    out = tmp_path / "served.npy"
    subprocess.run([sys.executable, "-c", SERVE_SCRIPT,
                    os.path.join(trained.model_uri, "Format-Serving"), eval_dir, str(out)],
                   check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    served = np.load(out)

    files = sorted(glob.glob(eval_dir + "/*"))
    records = list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
    tft_output = TFTransformOutput(trained.graph_uri)
    raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items() if k != "species"}
    transformed = tft_output.transform_raw_features(
        tf.io.parse_example(tf.constant(records), raw_spec))
    model = keras.models.load_model(os.path.join(trained.model_uri, "Format-Keras",
                                                 "model.keras"))
    direct = model({k: transformed[k] for k in model.input}).numpy()

    assert served.shape == (len(records), 3) and len(records) > 50
    np.testing.assert_allclose(served, direct, atol=1e-5, rtol=0)
    np.testing.assert_allclose(served.sum(axis=1), 1.0, atol=1e-5)
    # The rows Transform wrote for training (Beam's path) give the same answers too: each
    # served row matches exactly one row of the model on Transform's own eval output.
    accessor = ExamplesAccessor()
    beam_rows = accessor.tf_dataset([os.path.join(trained.transformed_uri, "Split-eval", "*")],
                                    batch_size=1000, label_key="species_xf",
                                    transform_output=trained.graph_uri, shuffle=False,
                                    num_epochs=1)
    features, _ = next(iter(beam_rows))
    on_beam_rows = model({k: features[k] for k in model.input}).numpy()
    distance = np.abs(served[:, None, :] - on_beam_rows[None, :, :]).max(axis=2)
    assert sorted(distance.argmin(axis=1)) == list(range(len(on_beam_rows)))
    assert distance.min(axis=1).max() <= 1e-5


# ---- (e) training records and lineage ------------------------------------------------------

def test_model_run_records_metrics_per_epoch_and_tensorboard_logs(trained: Trained) -> None:
    epochs = read_epochs(trained.model_run_uri)
    assert [e["epoch"] for e in epochs] == list(range(1, 11))  # 100 steps: 10 epochs of 10
    for epoch in epochs:
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epoch)
        assert 0 <= epoch["accuracy"] <= 1 and 0 <= epoch["val_accuracy"] <= 1
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    final = {k: v for k, v in epochs[-1].items() if k != "epoch"}
    for key in ("model", "model_run"):
        properties = trained.output("trainer", key).custom_properties
        # ML Metadata's SQLite store keeps doubles to 6 decimal places.
        assert {k: properties[k] for k in final} == pytest.approx(final, abs=1e-6)
        assert properties["train_seconds"] > 0

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = os.path.join(trained.model_run_uri, "logs")
    train_events = EventAccumulator(os.path.join(logs, "train")).Reload()
    if "epoch_loss" in train_events.Tags()["scalars"]:
        losses = [e.value for e in train_events.Scalars("epoch_loss")]
    else:  # Keras writes tensor summaries under TF 2
        losses = [float(tf_value(e)) for e in train_events.Tensors("epoch_loss")]
    assert losses == pytest.approx([e["loss"] for e in epochs], rel=1e-6)
    assert os.listdir(os.path.join(logs, "validation"))


def test_show_and_notebook_views_print_model_and_metrics(trained: Trained) -> None:
    model_run = trained.output("trainer", "model_run")
    shown = run_cli("show", str(model_run.id), "--root", str(trained.root), check=True).stdout
    lines = shown.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["epoch"])
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(lines[header].split())
    assert [line.split()[0] for line in lines[header + 1:header + 11]] == \
        [str(i) for i in range(1, 11)]
    assert "tensorboard --logdir" in shown
    model = trained.output("trainer", "model")
    shown = run_cli("show", str(model.id), "--root", str(trained.root), check=True).stdout
    assert "tensorflow classification of 'species'" in shown
    assert "formats: Format-Keras, Format-Serving" in shown
    page = artifact_html(model_run, {})
    assert "Training metrics" in page and "val_accuracy" in page


def tf_value(event: Any) -> float:
    import tensorflow as tf

    return float(tf.make_ndarray(event.tensor_proto))


def test_model_lineage_reaches_the_raw_examples_and_their_span(trained: Trained) -> None:
    model = trained.output("trainer", "model")
    store = connect(MetadataConfig.for_root(str(trained.root)))
    try:
        graph = store.lineage(model.id, "upstream")
    finally:
        store.close()
    by_type: dict[str, list[ArtifactRecord]] = {}
    for artifact in graph.artifacts.values():
        by_type.setdefault(artifact.type_name, []).append(artifact)
    raw = trained.output("csv_example_gen", "examples")
    assert raw.id in {a.id for a in by_type["Examples"]}
    assert trained.output("transform", "transformed_examples").id in \
        {a.id for a in by_type["Examples"]}
    assert {a.id for a in by_type["TransformGraph"]} == \
        {trained.output("transform", "transform_graph").id}
    assert graph.artifacts[raw.id].properties["span"] == 0
    assert model.custom_properties["examples_span"] == 0


# ---- (c) determinism -----------------------------------------------------------------------

def test_same_seed_same_metrics_other_seed_other_metrics(trained: Trained,
                                                         tmp_path: Path) -> None:
    """The pipeline's Trainer (seed 0) trained again outside the pipeline with seed 0 (the
    run_fn named by import path this time) gives the same metrics, epoch by epoch; seed 1
    gives others."""
    module = module_path("penguin_keras")
    in_pipeline = read_epochs(trained.model_run_uri)
    _, again = call_trainer(trained, tmp_path / "again", None, train_steps=TRAIN_STEPS,
                            run_fn="conveyor.examples.penguin_keras:run_fn")
    _, other = call_trainer(trained, tmp_path / "other", module, train_steps=TRAIN_STEPS, seed=1)
    assert len(in_pipeline) == 10
    assert read_epochs(again.uri) == in_pipeline
    assert read_epochs(other.uri) != in_pipeline


# ---- (d) bad input -------------------------------------------------------------------------

def test_definition_needs_a_module_for_run_fn() -> None:
    gen = CsvExampleGen(input_base=penguins_dir(), pattern="penguins.csv")
    with pytest.raises(ArgumentError, match="module_file="):
        Trainer(examples=gen.outputs.examples)
    with pytest.raises(ArgumentError, match="either module_file"):
        Trainer(examples=gen.outputs.examples, module_file="m.py", run_fn="pkg.m:run_fn")


def test_declaring_and_compiling_a_trainer_imports_no_ml_library(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        import conveyor
        from conveyor.components.examplegen import CsvExampleGen
        from conveyor.components.trainer import Trainer
        gen = CsvExampleGen(input_base={penguins_dir()!r}, pattern="penguins.csv")
        trainer = Trainer(examples=gen.outputs.examples,
                          module_file={module_path("penguin_keras")!r})
        conveyor.compile_pipeline(conveyor.Pipeline("p", [gen, trainer], root={str(tmp_path)!r}))
        heavy = ("tensorflow", "keras", "tensorflow_transform", "apache_beam", "pandas", "sklearn")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_missing_module_file(trained: Trained, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.py")
    with pytest.raises(ModuleFileError, match=re.escape(f"module file {missing} does not exist")):
        call_trainer(trained, tmp_path, missing)


def test_module_without_run_fn_suggests_the_close_name(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, "def run_fm(args):\n    pass\n")
    with pytest.raises(ModuleFileError) as caught:
        call_trainer(trained, tmp_path, path)
    assert f"module file {path} has no function 'run_fn'" in str(caught.value)
    assert "Did you mean 'run_fm'?" in str(caught.value)


def test_import_path_that_does_not_import(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(ModuleFileError, match=r"cannot import module 'no_such_pkg\.model'"):
        call_trainer(trained, tmp_path, None, run_fn="no_such_pkg.model:run_fn")


def test_an_edited_module_file_is_imported_again(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, "def run_fn(args):\n    raise ValueError('first')\n")
    with pytest.raises(ExecutionError, match="first"):
        call_trainer(trained, tmp_path / "1", path)
    write_module(tmp_path, "def run_fn(args):\n    raise ValueError('second')\n")
    with pytest.raises(ExecutionError, match="second"):
        call_trainer(trained, tmp_path / "2", path)


def test_run_fn_that_raises_names_function_file_line_and_error(trained: Trained,
                                                              tmp_path: Path) -> None:
    path = write_module(tmp_path, """
        def run_fn(args):
            rate = args.hyperparameters.get("rate", 0)
            return 1 / rate
    """)
    with pytest.raises(ExecutionError) as caught:
        call_trainer(trained, tmp_path, path)
    message = str(caught.value)
    assert f"run_fn 'run_fn' of module file {path} raised ZeroDivisionError at line 4" in message
    assert "division by zero" in message
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_run_fn_that_exports_no_model(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, """
        def run_fn(args):
            args.describe_model(task="classification", label_key="species", classes=["a"])
    """)
    with pytest.raises(ExecutionError, match=r"exported no model: .*Format-Serving"):
        call_trainer(trained, tmp_path, path)


def test_run_fn_with_the_wrong_serving_signature(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, """
        import tensorflow as tf

        class Wrong(tf.Module):
            @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
            def serve(self, x):
                return {"probabilities": tf.nn.softmax(x[:, :3])}

        def run_fn(args):
            module = Wrong()
            tf.saved_model.save(module, args.serving_model_dir,
                                signatures={"serving_default": module.serve})
            args.describe_model(task="classification", label_key="species",
                                classes=["Adelie", "Chinstrap", "Gentoo"])
    """)
    with pytest.raises(ExecutionError, match="'serving_default' signature takes x "
                                             r"\(DT_FLOAT, rank 2\), not one 'examples'"):
        call_trainer(trained, tmp_path, path)


def test_run_fn_that_does_not_describe_its_model(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, """
        import tensorflow as tf

        class Constant(tf.Module):
            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
            def serve(self, examples):
                return {"probabilities": tf.ones([tf.shape(examples)[0], 3]) / 3}

        def run_fn(args):
            module = Constant()
            tf.saved_model.save(module, args.serving_model_dir,
                                signatures={"serving_default": module.serve})
    """)
    with pytest.raises(ExecutionError, match="did not describe its model: call "
                                             r"args.describe_model\("):
        call_trainer(trained, tmp_path, path)


CONSTANT_MODEL = """
    import json, os
    import tensorflow as tf

    class Constant(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            return {"probabilities": tf.ones([tf.shape(examples)[0], 3]) / 3}

    def run_fn(args):
        with open(os.path.join(args.model_run_dir, "args.json"), "w") as f:
            json.dump({"hyperparameters": args.hyperparameters, "seed": args.seed,
                       "custom_config": args.custom_config,
                       "train_files": args.train_files}, f)
        module = Constant()
        tf.saved_model.save(module, args.serving_model_dir,
                            signatures={"serving_default": module.serve})
        args.describe_model(task="classification", label_key=LABEL,
                            classes=["Adelie", "Chinstrap", "Gentoo"])
"""


def test_hyperparameters_artifact_reaches_run_fn_and_features_come_from_the_schema(
        trained: Trained, tmp_path: Path) -> None:
    """A run_fn without training records still publishes (empty metrics.json); the
    HyperParameters file arrives as args.hyperparameters; raw features come from the schema."""
    tuned = HyperParameters(str(tmp_path / "hp"))
    os.makedirs(tuned.uri)
    (tmp_path / "hp" / "best_hyperparameters.txt").write_text('{"learning_rate": 0.05}')
    path = write_module(tmp_path, CONSTANT_MODEL.replace("LABEL", "'species'"))
    model, model_run = call_trainer(trained, tmp_path, path, seed=7, hyperparameters=tuned)
    recorded = json.loads((tmp_path / "model_run" / "args.json").read_text())
    assert recorded["hyperparameters"] == {"learning_rate": 0.05}
    assert recorded["seed"] == 7
    assert recorded["train_files"] == [os.path.join(trained.transformed_uri, "Split-train",
                                                    "*.gz")]
    assert read_epochs(model_run.uri) == []
    info = read_model_info(model.uri)
    assert info.features == {"island": "string", "sex": "string", "bill_length_mm": "float",
                             "bill_depth_mm": "float", "flipper_length_mm": "int",
                             "body_mass_g": "int", "year": "int"}


def test_described_label_must_be_a_raw_column(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, CONSTANT_MODEL.replace("LABEL", "'kind'"))
    with pytest.raises(DataError, match=r"label 'kind' is not a column of the data \(schema "):
        call_trainer(trained, tmp_path, path)


def test_label_absent_from_the_data(trained: Trained, tmp_path: Path) -> None:
    path = write_module(tmp_path, """
        def run_fn(args):
            args.data_accessor.tf_dataset(args.train_files, batch_size=8, label_key="species",
                                          transform_output=args.transform_output)
    """)
    with pytest.raises(DataError) as caught:
        call_trainer(trained, tmp_path, path)
    message = str(caught.value)
    assert f"run_fn 'run_fn' of module file {path} at line 3" in message
    assert "label 'species' is not a feature of the transformed data" in message
    assert "species_xf" in message  # the features it could have meant


def test_raw_examples_given_with_a_transform_graph(trained: Trained, tmp_path: Path) -> None:
    accessor = ExamplesAccessor()
    raw = [os.path.join(trained.raw_examples_uri, "Split-train", "*")]
    with pytest.raises(DataError, match=r"the examples lack feature\(s\) bill_depth_mm_xf, .*"
                                        r"are they Transform's transformed_examples\?"):
        accessor.tf_dataset(raw, batch_size=8, label_key="species_xf",
                            transform_output=trained.graph_uri)


def test_unknown_split(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Trainer\.train_split='training'.*Choose one of the "
                                        r"splits of the Examples \(train, eval\)"):
        call_trainer(trained, tmp_path, module_path("penguin_keras"), train_split="training")


def test_failed_trainer_in_a_pipeline_publishes_nothing_and_keeps_upstream(
        trained: Trained, tmp_path: Path) -> None:
    """Same root again with a run_fn that raises: upstream from cache, the Trainer failed,
    no model published, earlier artifacts still live."""
    path = write_module(tmp_path, "def run_fn(args):\n    raise ValueError('bad data')\n")
    result = LocalRunner(raise_on_failure=False).run(penguin_pipeline(trained.root, path))
    states = {r.node_id: r.state for r in result.nodes}
    assert states == {"csv_example_gen": CACHED, "statistics_gen": CACHED,
                      "schema_gen": CACHED, "transform": CACHED, "trainer": FAILED}
    failed = result["trainer"]
    assert failed.outputs == {}
    assert f"module file {path} raised ValueError at line 2: bad data" in (failed.error or "")
    assert os.path.isdir(trained.transformed_uri) and os.path.isdir(trained.model_uri)
    store = connect(MetadataConfig.for_root(str(trained.root)))
    try:
        models = store.find_artifacts(type_name="Model", pipeline="penguin", node_id="trainer")
    finally:
        store.close()
    assert [m.id for m in models if m.state == "LIVE"] == [trained.output("trainer", "model").id]


# ---- the data accessor ---------------------------------------------------------------------

def test_accessor_reads_raw_examples_with_the_schema_in_a_seeded_order(trained: Trained) -> None:
    accessor = ExamplesAccessor(schema_file=os.path.join(trained.schema_uri, "schema.pbtxt"))
    files = [os.path.join(trained.raw_examples_uri, "Split-train", "*")]

    def first_batch(seed: int) -> list[bytes]:
        dataset = accessor.tf_dataset(files, batch_size=16, label_key="species", seed=seed)
        features, labels = next(iter(dataset))
        assert "species" not in features and "island" in features
        return [bytes(v) for v in labels.numpy().ravel()]

    assert first_batch(3) == first_batch(3)
    assert first_batch(3) != first_batch(4)
    frame = accessor.pandas(files)
    assert len(frame) == sum(1 for _ in accessor.tf_dataset(
        files, batch_size=1, shuffle=False, num_epochs=1))
    assert set(frame["species"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert frame["bill_length_mm"].isna().sum() >= 0 and frame["bill_length_mm"].dtype.kind == "f"


def test_accessor_reads_parquet_like_tfrecords(trained: Trained, tmp_path: Path) -> None:
    """The same rows as Parquet give the same tf.data batches and the same flat frame."""
    import pyarrow.parquet as pq

    accessor = ExamplesAccessor(schema_file=os.path.join(trained.schema_uri, "schema.pbtxt"))
    tfrecords = [os.path.join(trained.raw_examples_uri, "Split-eval", "*")]
    frame = accessor.pandas(tfrecords)
    (tmp_path / "Split-eval").mkdir()
    pq.write_table(pa_table(frame), tmp_path / "Split-eval" / "data_parquet-00000.parquet")
    parquet = [str(tmp_path / "Split-eval" / "*.parquet")]

    assert accessor.pandas(parquet).equals(frame)

    def rows(files: list[str]) -> dict[str, Any]:
        dataset = accessor.tf_dataset(files, batch_size=1000, shuffle=False, num_epochs=1)
        features = next(iter(dataset))
        return {k: (v.values if hasattr(v, "values") else v).numpy()
                for k, v in features.items()}

    from_tfrecords, from_parquet = rows(tfrecords), rows(parquet)
    assert from_tfrecords.keys() == from_parquet.keys()
    for name, values in from_tfrecords.items():
        np.testing.assert_array_equal(values, from_parquet[name], err_msg=name)


def pa_table(frame: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)
