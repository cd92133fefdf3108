"""EstimatorTuner and the keras-tuner Tuner on the Palmer penguins: their HyperParameters
(best values and every trial), EstimatorTrainer consuming them, deterministic trial order, and
bad input as clear errors."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from conveyor import LocalRunner, Pipeline
from conveyor.artifacts import Examples, HyperParameters, Schema
from conveyor.components.examplegen import CsvExampleGen
from conveyor.components.trainer import estimator_search, tuner
from conveyor.components.trainer.estimator_component import EstimatorTrainer
from conveyor.components.trainer.estimators import load_estimator
from conveyor.components.trainer.hyperparameters import (
    read_hyperparameters,
    read_trials,
    write_hyperparameters,
)
from conveyor.components.trainer.tuner_component import EstimatorTuner, Tuner
from conveyor.components.validate import SchemaGen, StatisticsGen
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import (
    ArgumentError,
    DataError,
    ExecutionError,
    ModuleFileError,
    ParameterTypeError,
)
from conveyor.examples.penguin_data_pipeline import penguins_dir
from conveyor.orchestrators.local import RunResult
from conveyor.orchestrators.notebook_views import views_for

KERAS_MODULE = '''
import keras
import keras_tuner

from conveyor.components.trainer.args import TrainerArgs, TunerFnResult

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]


def arrays(args, files, mean=None, std=None):
    frame = args.data_accessor.pandas(files)
    x = frame[FEATURES].astype("float32")
    mean = x.mean() if mean is None else mean
    std = x.std() if std is None else std
    x = ((x - mean) / std).fillna(0.0).to_numpy()
    return x, frame["species"].map(CLASSES.index).to_numpy(), mean, std


def build(hp):
    model = keras.Sequential([
        keras.layers.Input((len(FEATURES),)),
        keras.layers.Dense(hp.Choice("units", [4, 16]), activation="relu"),
        keras.layers.Dense(len(CLASSES), activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(hp.Choice("learning_rate", [0.01, 0.1])),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tuner_fn(args: TrainerArgs) -> TunerFnResult:
    tuner = keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=10,
                                     seed=args.seed, directory=args.working_dir,
                                     project_name="penguins")
    x, y, mean, std = arrays(args, args.train_files)
    eval_x, eval_y, _, _ = arrays(args, args.eval_files, mean, std)
    return TunerFnResult(tuner=tuner, fit_kwargs={
        "x": x, "y": y, "validation_data": (eval_x, eval_y), "epochs": 1, "batch_size": 32,
        "verbose": 0})


def not_a_tuner_fn(args):
    return {"tuner": None}


def raising_tuner_fn(args):
    return args.custom_config["missing"]
'''

LOGISTIC = "sklearn.linear_model.LogisticRegression"
C_VALUES = [0.001, 0.1, 10.0]


def data_nodes() -> list[Any]:
    """CsvExampleGen -> StatisticsGen -> SchemaGen on the penguins CSV."""
    gen = CsvExampleGen(input_base=penguins_dir(), pattern="penguins.csv")
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    return [gen, stats, schema]


@pytest.fixture(scope="module")
def module_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A user module with a keras-tuner tuner_fn (and broken ones)."""
    path = tmp_path_factory.mktemp("module") / "penguin_tuning.py"
    path.write_text(KERAS_MODULE)
    return str(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, module_file: str) -> RunResult:
    """EstimatorTuner -> EstimatorTrainer, and a two-trial keras-tuner Tuner."""
    gen, stats, schema = data_nodes()
    search = EstimatorTuner(examples=gen.outputs.examples, schema=schema.outputs.schema,
                            label_key="species", estimator=LOGISTIC,
                            search_space={"C": C_VALUES}, metric="log_loss",
                            estimator_params={"max_iter": 500})
    trained = EstimatorTrainer(examples=gen.outputs.examples, schema=schema.outputs.schema,
                               hyperparameters=search.outputs.best_hyperparameters,
                               label_key="species", estimator=LOGISTIC,
                               estimator_params={"C": C_VALUES[0], "max_iter": 500})
    keras_search = Tuner(examples=gen.outputs.examples, schema=schema.outputs.schema,
                         module_file=module_file, max_trials=2, seed=1)
    root = tmp_path_factory.mktemp("tuner")
    return LocalRunner().run(Pipeline("tuning", [gen, stats, schema, search, trained,
                                                 keras_search], root=str(root)))


def uri(run: RunResult, node: str, key: str) -> str:
    """Where a node's output was published."""
    return run[node].outputs[key][0].uri


def context(tmp: Path, node: str = "tuner") -> ExecutionContext:
    """An execution context for calling an executor directly."""
    return ExecutionContext(pipeline="test", run_id="r", node_id=node, execution_id=0,
                            pipeline_root=str(tmp), scratch_dir=str(tmp))


def examples_of(run: RunResult) -> Examples:
    """The pipeline's Examples, for calling executors directly."""
    examples = Examples(uri(run, "csv_example_gen", "examples"))
    examples.split_names = ["train", "eval"]
    return examples


def test_estimator_tuner_records_every_trial_and_the_best(run: RunResult) -> None:
    output = uri(run, "estimator_tuner", "best_hyperparameters")
    record = read_trials(output)
    assert [t["hyperparameters"] for t in record["trials"]] == [{"C": c} for c in C_VALUES]
    assert all(t["status"] == "COMPLETED" for t in record["trials"])
    scores = [t["score"] for t in record["trials"]]
    assert scores == [t["metrics"]["eval"]["log_loss"] for t in record["trials"]]
    assert len(set(scores)) == 3  # C changes the fit
    best = min(range(3), key=lambda i: scores[i])
    assert (record["metric"], record["direction"]) == ("val_log_loss", "min")
    assert record["best_trial"] == str(best)
    assert read_hyperparameters(output) == {"C": C_VALUES[best]}
    properties = run["estimator_tuner"].outputs["best_hyperparameters"][0].custom_properties
    assert properties["best_score"] == pytest.approx(scores[best], abs=1e-5)


def test_trainer_fits_with_the_tuned_hyperparameters(run: RunResult) -> None:
    best = read_hyperparameters(uri(run, "estimator_tuner", "best_hyperparameters"))
    assert best["C"] != C_VALUES[0]  # so the override below is visible
    pipeline, info = load_estimator(uri(run, "estimator_trainer", "model"))
    assert pipeline.named_steps["model"].C == best["C"]
    assert pipeline.named_steps["model"].max_iter == 500  # untouched estimator_params stay
    assert info.extra["params"] == {"C": best["C"], "max_iter": 500}
    with open(os.path.join(uri(run, "estimator_trainer", "model_run"), "metrics.json"),
              encoding="utf-8") as f:
        trained = json.load(f)
    record = read_trials(uri(run, "estimator_tuner", "best_hyperparameters"))
    best_trial = record["trials"][int(record["best_trial"])]
    # Same data, preprocessing, parameters and seed as the best trial: the same fit.
    assert trained["eval"] == best_trial["metrics"]["eval"]
    assert trained["train"] == best_trial["metrics"]["train"]


def test_keras_tuner_runs_the_user_search(run: RunResult) -> None:
    output = uri(run, "tuner", "best_hyperparameters")
    record = read_trials(output)
    trials = record["trials"]
    assert len(trials) == 2  # max_trials overrides the tuner's own 10
    assert (record["metric"], record["direction"]) == ("val_accuracy", "max")
    for trial in trials:
        assert trial["status"] == "COMPLETED"
        assert set(trial["hyperparameters"]) == {"units", "learning_rate"}
        assert 0.0 <= trial["score"] <= 1.0
        assert trial["score"] == pytest.approx(trial["metrics"]["val_accuracy"])
    assert trials[0]["hyperparameters"] != trials[1]["hyperparameters"]
    best = max(trials, key=lambda t: t["score"])
    assert read_hyperparameters(output) == best["hyperparameters"]


def test_candidates_are_deterministic() -> None:
    space: dict[str, list[Any]] = {"n_estimators": [10, 50], "max_depth": [2, 4, None]}
    grid = estimator_search.candidates(space, "grid", None, 0)
    assert grid == [{"n_estimators": n, "max_depth": d} for n in (10, 50) for d in (2, 4, None)]
    assert estimator_search.candidates(space, "grid", 4, 0) == grid[:4]
    drawn = estimator_search.candidates(space, "random", 4, seed=7)
    assert drawn == estimator_search.candidates(space, "random", 4, seed=7)
    assert len(drawn) == 4 and all(d in grid for d in drawn)
    assert len({json.dumps(d) for d in drawn}) == 4  # distinct
    draws = {json.dumps(estimator_search.candidates(space, "random", 4, seed=s))
             for s in range(5)}
    assert len(draws) > 1  # the seed matters
    # Never more trials than points; a huge space is drawn from without listing it.
    assert len(estimator_search.candidates(space, "random", 100, 0)) == 6
    huge = {f"p{i}": list(range(10)) for i in range(8)}
    assert len(estimator_search.candidates(huge, "random", 3, 0)) == 3


def test_a_trial_the_estimator_rejects_is_recorded_and_skipped(run: RunResult,
                                                               tmp_path: Path) -> None:
    output = HyperParameters(str(tmp_path / "out"))
    estimator_search.search(
        examples=examples_of(run), label_key="species", estimator=LOGISTIC,
        search_space={"C": [-1.0, 1.0]}, estimator_params={}, strategy="grid",
        max_trials=None, metric=None, task="classification", features=None,
        train_split="train", eval_split="eval", seed=0, best_hyperparameters=output,
        context=context(tmp_path), schema=Schema(uri(run, "schema_gen", "schema")))
    first, second = read_trials(output.uri)["trials"]
    assert first["status"] == "FAILED" and "'C' parameter" in first["error"]
    assert "trial 0 {'C': -1.0}" in first["error"]
    assert second["status"] == "COMPLETED" and second["score"] > 0.9  # accuracy by default
    assert read_hyperparameters(output.uri) == {"C": 1.0}


def test_declaration_errors() -> None:
    gen, _, schema = data_nodes()
    examples = gen.outputs.examples
    with pytest.raises(ParameterTypeError, match="'rmse' is not a metric of task "
                                                 "'classification'"):
        EstimatorTuner(examples=examples, label_key="species", estimator=LOGISTIC,
                       search_space={"C": [1.0]}, metric="rmse")
    with pytest.raises(ParameterTypeError, match="Did you mean 'accuracy'"):
        EstimatorTuner(examples=examples, label_key="species", estimator=LOGISTIC,
                       search_space={"C": [1.0]}, metric="acuracy")
    with pytest.raises(ParameterTypeError, match="no value to try for 'C'"):
        EstimatorTuner(examples=examples, label_key="species", estimator=LOGISTIC,
                       search_space={"C": []})
    with pytest.raises(ParameterTypeError,
                       match=r"max_trials \(node 'estimator_tuner'\) must be >= 1, got 0"):
        EstimatorTuner(examples=examples, label_key="species", estimator=LOGISTIC,
                       search_space={"C": [1.0]}, max_trials=0)
    with pytest.raises(ArgumentError, match="give module_file"):
        Tuner(examples=examples, schema=schema.outputs.schema)


def call_tuner(run: RunResult, tmp: Path, module_file: str | None, tuner_fn: str) -> None:
    """Call the Tuner's executor directly."""
    tuner.search(examples=examples_of(run), module_file=module_file, tuner_fn=tuner_fn,
                 max_trials=1, train_steps=None, eval_steps=None, custom_config={},
                 train_split="train", eval_split="eval", seed=0,
                 best_hyperparameters=HyperParameters(str(tmp / "out")), context=context(tmp),
                 schema=Schema(uri(run, "schema_gen", "schema")))


def test_tuner_errors_name_the_module_and_function(run: RunResult, tmp_path: Path,
                                                   module_file: str) -> None:
    with pytest.raises(ModuleFileError) as missing:
        call_tuner(run, tmp_path, module_file, "tunner_fn")
    assert str(missing.value).startswith("Tuner 'tuner' field 'tuner_fn': ")
    assert f"{module_file} has no function 'tunner_fn'. Did you mean 'tuner_fn'?" \
        in str(missing.value)
    with pytest.raises(ModuleFileError, match=r"not_a_tuner_fn' of module file .* returned "
                                              "dict, not a TunerFnResult"):
        call_tuner(run, tmp_path, module_file, "not_a_tuner_fn")
    with pytest.raises(ExecutionError) as raised:
        call_tuner(run, tmp_path, module_file, "raising_tuner_fn")
    message = str(raised.value)
    assert "Tuner 'tuner': tuner_fn 'raising_tuner_fn' of module file" in message
    assert "raised KeyError at line " in message and "'missing'" in message
    with pytest.raises(ModuleFileError, match="cannot import module 'no_such_module'"):
        call_tuner(run, tmp_path, None, "no_such_module:tuner_fn")
    with pytest.raises(DataError, match="no split 'test'"):
        tuner.search(examples=examples_of(run), module_file=module_file, tuner_fn="tuner_fn",
                     max_trials=1, train_steps=None, eval_steps=None, custom_config={},
                     train_split="train", eval_split="test", seed=0,
                     best_hyperparameters=HyperParameters(str(tmp_path / "o")),
                     context=context(tmp_path))


def test_hand_written_and_tfx_hyperparameters_files_are_read(tmp_path: Path) -> None:
    write_hyperparameters(str(tmp_path / "mine"), {"C": 0.5})
    assert read_hyperparameters(str(tmp_path / "mine")) == {"C": 0.5}
    tfx = tmp_path / "tfx"
    tfx.mkdir()
    (tfx / "best_hyperparameters.txt").write_text(json.dumps(
        {"space": [{"class_name": "Choice"}], "values": {"units": 8}}))
    assert read_hyperparameters(str(tfx)) == {"units": 8}
    (tfx / "best_hyperparameters.txt").write_text("{not json")
    with pytest.raises(DataError, match=r"best_hyperparameters\.txt, line 1: not JSON"):
        read_hyperparameters(str(tfx))


def test_keras_tuner_trials_repeat_with_the_seed(run: RunResult, tmp_path: Path,
                                                 module_file: str) -> None:
    output = HyperParameters(str(tmp_path / "again"))
    tuner.search(examples=examples_of(run), module_file=module_file, tuner_fn="tuner_fn",
                 max_trials=2, train_steps=None, eval_steps=None, custom_config={},
                 train_split="train", eval_split="eval", seed=1, best_hyperparameters=output,
                 context=context(tmp_path), schema=Schema(uri(run, "schema_gen", "schema")))
    again = read_trials(output.uri)["trials"]
    first = read_trials(uri(run, "tuner", "best_hyperparameters"))["trials"]
    assert [t["hyperparameters"] for t in again] == [t["hyperparameters"] for t in first]
    assert [t["score"] for t in again] == pytest.approx([t["score"] for t in first])


def test_conveyor_show_and_notebook_views_list_the_trials(run: RunResult) -> None:
    artifact = run["estimator_tuner"].outputs["best_hyperparameters"][0]
    best = read_hyperparameters(artifact.uri)
    shown = run_cli("show", str(artifact.id), "--root", run.root, check=True).stdout
    assert f"best: {json.dumps(best)}" in shown
    assert "3 trials ranked by val_log_loss (min)" in shown
    assert sum(1 for line in shown.splitlines() if "COMPLETED" in line) == 3
    ((title, view),) = views_for("HyperParameters")
    page = view(artifact) or ""
    assert title == "Hyperparameters" and page.count("<tr") == 4  # header and three trials
