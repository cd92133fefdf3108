"""EstimatorTrainer on the Palmer penguins: CsvExampleGen -> StatisticsGen -> SchemaGen ->
EstimatorTrainer (scikit-learn and XGBoost) through the LocalRunner, the saved model reloaded
in a fresh process, determinism, and each bad input as a clear error. Quick checks call the
executor directly on the Examples the pipeline made."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from data_helpers import PENGUINS_CSV

from conveyor import LocalRunner, Pipeline
from conveyor.artifacts import Examples, Model, ModelRun, Schema
from conveyor.artifacts.base import LIVE
from conveyor.components.examplegen import CsvExampleGen
from conveyor.components.trainer import estimators
from conveyor.components.trainer.estimator_component import EstimatorTrainer
from conveyor.components.trainer.estimators import BOOSTER_FILE, load_estimator
from conveyor.components.trainer.run_records import final_metrics, read_metrics
from conveyor.components.validate import SchemaGen, StatisticsGen
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import (
    DataError,
    ExecutionError,
    ModuleFileError,
    ParameterTypeError,
    RunFailedError,
)
from conveyor.examples import penguin_sklearn as sklearn_example
from conveyor.examples.penguin_data_pipeline import penguins_dir
from conveyor.metadata import MetadataConfig, connect
from conveyor.metadata.records import COMPLETE, FAILED
from conveyor.models.format import ESTIMATOR_DIR, ESTIMATOR_FILE, read_model_info
from conveyor.models.predict import load_predictor
from conveyor.orchestrators.local import RunResult

FEATURES = {"island": "string", "sex": "string", "bill_length_mm": "float",
            "bill_depth_mm": "float", "flipper_length_mm": "int", "body_mass_g": "int",
            "year": "int"}
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
LOGISTIC = "sklearn.linear_model.LogisticRegression"


def data_nodes() -> list[Any]:
    """CsvExampleGen -> StatisticsGen -> SchemaGen on the penguins CSV."""
    gen = CsvExampleGen(input_base=penguins_dir(), pattern="penguins.csv")
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    return [gen, stats, schema]


def trainer(nodes: list[Any], id: str, estimator: str, **kwargs: Any) -> EstimatorTrainer:
    """An EstimatorTrainer on the data nodes' Examples and Schema."""
    kwargs.setdefault("label_key", "species")
    node = EstimatorTrainer(examples=nodes[0].outputs.examples, schema=nodes[2].outputs.schema,
                            estimator=estimator, **kwargs)
    node.with_id(id)
    return node


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pipeline root for the module, so later runs reuse the data nodes from cache."""
    return tmp_path_factory.mktemp("estimators")


@pytest.fixture(scope="module")
def run(root: Path) -> RunResult:
    """Logistic regression, XGBoost and a ridge regression trained on the penguins."""
    nodes = data_nodes()
    trainers = [
        trainer(nodes, "logistic", "sklearn.linear_model.LogisticRegression"),
        trainer(nodes, "xgboost", "xgboost.XGBClassifier",
                estimator_params={"n_estimators": 20, "max_depth": 3}),
        trainer(nodes, "ridge", "sklearn.linear_model.Ridge", label_key="body_mass_g",
                task="regression"),
    ]
    return LocalRunner().run(Pipeline("penguins", nodes + trainers, root=str(root)))


def uri(run: RunResult, node: str, key: str) -> str:
    """Where a node's output was published."""
    return run[node].outputs[key][0].uri


def metrics(run: RunResult, node: str) -> dict[str, Any]:
    """The ModelRun's metrics.json of a trainer."""
    with open(os.path.join(uri(run, node, "model_run"), "metrics.json"), encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def context(tmp: Path, node: str = "trainer") -> ExecutionContext:
    """An execution context for calling an executor directly."""
    return ExecutionContext(pipeline="test", run_id="r", node_id=node, execution_id=0,
                            pipeline_root=str(tmp), scratch_dir=str(tmp))


def train_directly(run: RunResult, tmp: Path, name: str, **kwargs: Any) -> tuple[Model, ModelRun]:
    """Call EstimatorTrainer's executor on the pipeline's Examples and Schema."""
    examples = Examples(uri(run, "csv_example_gen", "examples"))
    examples.split_names = ["train", "eval"]
    model, model_run = Model(str(tmp / name / "model")), ModelRun(str(tmp / name / "run"))
    os.makedirs(model.uri)
    os.makedirs(model_run.uri)
    arguments: dict[str, Any] = {
        "label_key": "species", "estimator": "sklearn.linear_model.LogisticRegression",
        "estimator_params": {}, "task": "classification", "features": None,
        "train_split": "train", "eval_split": "eval", "seed": 0,
        "schema": Schema(uri(run, "schema_gen", "schema"))}
    arguments.update(kwargs)
    estimators.train(examples=examples, model=model, model_run=model_run,
                     context=context(tmp), **arguments)
    return model, model_run


def raw_penguins() -> pd.DataFrame:
    """The penguins CSV as a user would read it: pandas, missing values as NaN."""
    return pd.read_csv(PENGUINS_CSV)


def test_sklearn_and_xgboost_classify_penguins_well(run: RunResult) -> None:
    for node in ("logistic", "xgboost"):
        record = metrics(run, node)
        assert record["eval"]["accuracy"] > 0.9, (node, record["eval"])
        assert record["train"]["examples"] + record["eval"]["examples"] == 344
        for output in ("model", "model_run"):
            properties = run[node].outputs[output][0].custom_properties
            assert properties["val_accuracy"] == pytest.approx(record["eval"]["accuracy"],
                                                               abs=1e-5)
            assert properties["val_log_loss"] == pytest.approx(record["eval"]["log_loss"],
                                                               abs=1e-5)
            assert properties["accuracy"] == pytest.approx(record["train"]["accuracy"],
                                                           abs=1e-5)
    # The ModelRun's metrics.json reads as the Keras Trainer's does: one epoch per boosting
    # round, the last with the final metrics.
    rounds = read_metrics(uri(run, "xgboost", "model_run"))
    assert [e["epoch"] for e in rounds] == list(range(1, 21))
    first_loss, last_loss = rounds[0]["mlogloss"], rounds[-1]["mlogloss"]
    assert first_loss is not None and last_loss is not None
    assert first_loss > last_loss  # boosting lowers the loss
    assert "val_mlogloss" in rounds[0]
    assert final_metrics(rounds)["val_accuracy"] == metrics(run, "xgboost")["eval"]["accuracy"]
    (single,) = read_metrics(uri(run, "logistic", "model_run"))
    assert single["val_log_loss"] == metrics(run, "logistic")["eval"]["log_loss"]


def test_regression_reports_rmse_and_leaves_out_rows_without_label(run: RunResult) -> None:
    record = metrics(run, "ridge")
    body_mass = raw_penguins()["body_mass_g"]
    # Far better than always predicting the mean (whose RMSE is the standard deviation).
    assert record["eval"]["rmse"] < 0.6 * body_mass.std()
    assert record["eval"]["r2"] > 0.6
    assert sum(record["rows_without_label"].values()) == body_mass.isna().sum() == 2
    info = read_model_info(uri(run, "ridge", "model"))
    assert info.task == "regression" and info.classes is None
    assert "body_mass_g" not in info.features and "species" in info.features


def test_model_info_and_files(run: RunResult) -> None:
    for node, framework in (("logistic", "sklearn"), ("xgboost", "xgboost")):
        model_uri = uri(run, node, "model")
        info = read_model_info(model_uri)
        assert (info.framework, info.task, info.label_key) == (framework, "classification",
                                                                "species")
        assert info.classes == SPECIES
        assert info.features == FEATURES  # kinds from the schema SchemaGen inferred
        files = set(os.listdir(os.path.join(model_uri, ESTIMATOR_DIR)))
        assert files == ({ESTIMATOR_FILE, BOOSTER_FILE} if framework == "xgboost"
                         else {ESTIMATOR_FILE})


def test_xgboost_booster_file_holds_the_fitted_booster(run: RunResult) -> None:
    import xgboost

    model_uri = uri(run, "xgboost", "model")
    pipeline, _ = load_estimator(model_uri)
    booster = xgboost.Booster(model_file=os.path.join(model_uri, ESTIMATOR_DIR, BOOSTER_FILE))
    rows = raw_penguins().drop(columns=["species"])
    transformed = pipeline.named_steps["preprocess"].transform(rows)
    from_booster = booster.predict(xgboost.DMatrix(transformed))
    np.testing.assert_allclose(from_booster, pipeline.predict_proba(rows), rtol=1e-6)


def test_reloaded_model_predicts_identically_in_a_fresh_process(run: RunResult,
                                                                 tmp_path: Path) -> None:
    model_uri = uri(run, "xgboost", "model")
    out = tmp_path / "probabilities.npy"
    script = ("import sys, joblib, numpy, pandas\n"
              "model = joblib.load(sys.argv[1])\n"
              "rows = pandas.read_csv(sys.argv[2]).drop(columns=['species'])\n"
              "numpy.save(sys.argv[3], model.predict_proba(rows))\n")
    subprocess.run([sys.executable, "-c", script,
                    os.path.join(model_uri, ESTIMATOR_DIR, ESTIMATOR_FILE), PENGUINS_CSV,
                    str(out)], check=True, timeout=120)
    pipeline, info = load_estimator(model_uri)
    rows = raw_penguins()
    expected = pipeline.predict_proba(rows.drop(columns=["species"]))
    np.testing.assert_array_equal(np.load(out), expected)
    # The raw rows are classified as well as the eval split was: the preprocessing fitted in
    # training is inside the model.
    predicted = np.array(info.classes)[expected.argmax(axis=1)]
    assert (predicted == rows["species"]).mean() > 0.95


def test_missing_values_are_imputed_alike_whatever_their_marker(run: RunResult) -> None:
    pipeline, _ = load_estimator(uri(run, "logistic", "model"))
    rows = raw_penguins().drop(columns=["species"]).iloc[:5].copy()
    rows["sex"] = rows["sex"].astype(object)
    with_nan = rows.assign(sex=np.nan, bill_length_mm=np.nan)
    with_none = rows.assign(sex=None, bill_length_mm=np.nan)
    np.testing.assert_array_equal(pipeline.predict_proba(with_nan),
                                  pipeline.predict_proba(with_none))
    # An island never seen in training is ignored by the one-hot encoder, not an error.
    unseen = pipeline.predict_proba(rows.assign(island="Atlantis"))
    assert unseen.shape == (5, 3) and np.allclose(unseen.sum(axis=1), 1.0)


def test_evaluator_predictor_reads_the_model_from_serialized_examples(run: RunResult) -> None:
    """conveyor.models.predict (the Evaluator's and InfraValidator's path) gives the same
    probabilities from tf.Examples as the pipeline from a DataFrame."""
    import tensorflow as tf

    from conveyor.components.trainer.data import ExamplesAccessor
    from conveyor.data.examples import find_split_files

    examples_uri = uri(run, "csv_example_gen", "examples")
    split = find_split_files(examples_uri, "eval")
    serialized = [r for path in split.files for r in tf.data.TFRecordDataset(
        path, compression_type=split.compression).as_numpy_iterator()]
    frame = ExamplesAccessor().pandas(split.patterns())
    for node in ("logistic", "xgboost"):
        model_uri = uri(run, node, "model")
        served = load_predictor(model_uri).predict(serialized)["probabilities"]
        pipeline, _ = load_estimator(model_uri)
        np.testing.assert_allclose(served, pipeline.predict_proba(frame.drop(
            columns=["species"])), rtol=1e-6, atol=1e-9)
        truth = np.array([SPECIES.index(s) for s in frame["species"]])
        accuracy = float((served.argmax(axis=1) == truth).mean())
        assert accuracy == pytest.approx(metrics(run, node)["eval"]["accuracy"])


def test_same_seed_gives_the_same_model_and_another_seed_another(run: RunResult,
                                                                 tmp_path: Path) -> None:
    forest = {"estimator": "sklearn.ensemble.RandomForestClassifier",
              "estimator_params": {"n_estimators": 5, "max_depth": 2}}
    runs = [train_directly(run, tmp_path, name, seed=seed, **forest)
            for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    records = []
    for _, model_run in runs:
        with open(os.path.join(model_run.uri, "metrics.json"), encoding="utf-8") as f:
            record = json.load(f)
        del record["fit_seconds"]
        records.append(record)
    assert records[0] == records[1]
    rows = raw_penguins().drop(columns=["species"])
    first, second, other = (load_estimator(m.uri)[0].predict_proba(rows) for m, _ in runs)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert load_estimator(runs[0][0].uri)[0].named_steps["model"].random_state == 3


def test_a_missing_label_column_names_the_columns(run: RunResult, tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        train_directly(run, tmp_path, "label", label_key="specie")
    message = str(error.value)
    assert "EstimatorTrainer 'trainer' field 'label_key': no column 'specie'" in message
    assert "Did you mean 'species'?" in message and "bill_length_mm" in message


def test_an_estimator_that_does_not_import_is_named_with_a_suggestion(run: RunResult,
                                                                       tmp_path: Path) -> None:
    with pytest.raises(ModuleFileError, match="Did you mean 'RandomForestClassifier'"):
        train_directly(run, tmp_path, "class", estimator="sklearn.ensemble.RandomForestClasifier")
    with pytest.raises(ModuleFileError, match=r"Did you mean 'sklearn\.ensemble'"):
        train_directly(run, tmp_path, "module", estimator="sklearn.ensembl.RandomForestClassifier")
    with pytest.raises(ModuleFileError, match=r"field 'estimator'.*not a scikit-learn-style"):
        train_directly(run, tmp_path, "function", estimator="collections.OrderedDict")


@pytest.mark.parametrize(("estimator", "params", "expected"), [
    ("sklearn.ensemble.RandomForestClassifier", {"n_estimator": 5},
     "unexpected keyword argument 'n_estimator'.*Did you mean 'n_estimators'"),
    ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": -1},
     "rejected its parameters: The 'n_estimators' parameter .* Got -1"),
    ("xgboost.XGBClassifier", {"n_estimator": 5, "max_depth": 2},
     r"does not know the parameters \[.n_estimator.\].*Did you mean .n_estimators.\?"),
    ("xgboost.XGBClassifier", {"max_depth": -1}, "rejected its parameters: .*max_depth"),
])
def test_parameters_the_estimator_rejects(run: RunResult, tmp_path: Path, estimator: str,
                                          params: dict[str, Any], expected: str) -> None:
    with pytest.raises(ExecutionError, match=expected) as error:
        train_directly(run, tmp_path, "params", estimator=estimator, estimator_params=params)
    assert "EstimatorTrainer 'trainer'" in str(error.value)


def test_an_absent_eval_split_lists_the_splits(run: RunResult, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"field 'eval_split': .* no split 'test'. .*Their "
                                        "splits: train, eval"):
        train_directly(run, tmp_path, "split", eval_split="test")


def test_declaration_errors() -> None:
    nodes = data_nodes()
    with pytest.raises(ParameterTypeError, match="'RandomForest' is not an import path"):
        trainer(nodes, "t", "RandomForest")
    with pytest.raises(ParameterTypeError, match="train_split and eval_split are both"):
        trainer(nodes, "t", "sklearn.svm.SVC", eval_split="train")
    with pytest.raises(ParameterTypeError, match="the label 'species' is listed as a feature"):
        trainer(nodes, "t", "sklearn.svm.SVC", features=["species", "island"])
    with pytest.raises(ParameterTypeError):
        trainer(nodes, "t", "sklearn.svm.SVC", task="clustering")


def test_a_failing_trainer_fails_its_node_and_publishes_no_model(run: RunResult,
                                                                 root: Path) -> None:
    nodes = data_nodes()
    bad = trainer(nodes, "bad", "sklearn.linear_model.LogisticRegression", label_key="colour")
    with pytest.raises(RunFailedError) as failed:
        LocalRunner().run(Pipeline("penguins", [*nodes, bad], root=str(root)))
    assert failed.value.failed == ["bad"]
    assert "no column 'colour'" in str(failed.value)
    store = connect(MetadataConfig.for_root(str(root)))
    try:
        assert store.find_artifacts(pipeline="penguins", node_id="bad", state=LIVE) == []
        executions = store.node_executions("penguins", "bad")
        assert [e.state for e in executions] == [FAILED]
        # The data nodes' artifacts from the first run are still live and on disk.
        examples = store.find_artifacts(pipeline="penguins", node_id="csv_example_gen")
        assert [a.state for a in examples] == [LIVE]
    finally:
        store.close()
    assert run["csv_example_gen"].state == COMPLETE
    assert os.path.isdir(uri(run, "csv_example_gen", "examples"))


def test_declarations_and_the_example_load_no_learner() -> None:
    code = ("import sys\n"
            "from conveyor.dsl.loading import load_pipeline\n"
            "from conveyor.ir import compile_pipeline\n"
            f"pipeline = load_pipeline({os.path.abspath(sklearn_example.__file__)!r})\n"
            "compile_pipeline(pipeline)\n"
            "print([m for m in ('sklearn', 'xgboost', 'keras', 'keras_tuner', 'tensorflow', "
            "'pandas', 'numpy', 'joblib') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"


def test_the_example_pipeline_wires_tuner_into_trainer() -> None:
    pipeline = sklearn_example.create_pipeline(root="unused")
    nodes = {node.id: node for node in pipeline.nodes}
    assert set(nodes) >= {"estimator_tuner", "estimator_trainer", "xgboost_trainer"}
    tuned = nodes["estimator_trainer"].inputs["hyperparameters"]
    assert tuned is not None and tuned.producer_id == "estimator_tuner"


def test_without_a_schema_kinds_come_from_the_data(run: RunResult, tmp_path: Path) -> None:
    model, model_run = train_directly(run, tmp_path, "noschema", schema=None)
    info = read_model_info(model.uri)
    # Integers with missing values arrive as floats in pandas; text stays text.
    assert info.features["body_mass_g"] == "float" and info.features["island"] == "string"
    assert info.features["year"] == "int"
    assert model_run.custom_properties["val_accuracy"] > 0.9  # type: ignore[operator]


def test_chosen_features_only_are_used(run: RunResult, tmp_path: Path) -> None:
    chosen = ["bill_length_mm", "flipper_length_mm"]
    model, _ = train_directly(run, tmp_path, "subset", features=chosen)
    pipeline, info = load_estimator(model.uri)
    assert list(info.features) == chosen
    rows = raw_penguins()[chosen]  # no other column is needed to predict
    assert pipeline.predict_proba(rows).shape == (len(rows), 3)
    with pytest.raises(DataError, match=r"field 'features': no column 'bill_lenght_mm'.*Did "
                                        r"you mean 'bill_length_mm'"):
        train_directly(run, tmp_path, "typo", features=["bill_lenght_mm"])


def test_integers_the_schema_marks_categorical_are_one_hot_encoded(run: RunResult,
                                                                   tmp_path: Path) -> None:
    from conveyor.data import layout

    schema = layout.read_schema(uri(run, "schema_gen", "schema"))
    year = next(f for f in schema.feature if f.name == "year")
    year.int_domain.is_categorical = True
    layout.write_schema(str(tmp_path / "schema"), schema)
    model, _ = train_directly(run, tmp_path, "categorical",
                              schema=Schema(str(tmp_path / "schema")))
    pipeline, info = load_estimator(model.uri)
    assert info.features["year"] == "int"
    columns = {name: list(cols) for name, _, cols in
               pipeline.named_steps["preprocess"].transformers_ if name != "remainder"}
    assert "year" in columns["categorical"] and "year" not in columns["numeric"]
    assert set(columns["categorical"]) == {"island", "sex", "year"}


def test_learners_refusing_sparse_input_get_dense_features(tmp_path: Path) -> None:
    """One-hot columns of a many-valued feature make the preprocessing's output sparse; a
    learner whose scikit-learn tags refuse sparse input (GaussianNB) gets a dense array."""
    import pyarrow as pa
    from data_helpers import write_examples
    from scipy import sparse

    rows = 300
    table = pa.table({"code": [f"c{i}" for i in range(rows)],
                      "size": [float(i % 7) for i in range(rows)],
                      "label": ["big" if i % 7 > 3 else "small" for i in range(rows)]})
    examples = Examples(str(tmp_path / "examples"))
    examples.split_names = write_examples(examples.uri, {"train": table, "eval": table})
    fitted = {}
    for name, estimator in (("dense", "sklearn.naive_bayes.GaussianNB"),
                            ("sparse", "sklearn.ensemble.RandomForestClassifier")):
        model, model_run = Model(str(tmp_path / name / "m")), ModelRun(str(tmp_path / name / "r"))
        os.makedirs(model.uri)
        os.makedirs(model_run.uri)
        estimators.train(examples=examples, model=model, model_run=model_run,
                         context=context(tmp_path), label_key="label", estimator=estimator,
                         estimator_params={}, task="classification", features=None,
                         train_split="train", eval_split="eval", seed=0)
        fitted[name] = load_estimator(model.uri)[0]
        assert model_run.custom_properties["val_accuracy"] == 1.0
    frame = pd.DataFrame({"code": ["c1", "c2"], "size": [1.0, 5.0]})
    assert not sparse.issparse(fitted["dense"].named_steps["preprocess"].transform(frame))
    assert sparse.issparse(fitted["sparse"].named_steps["preprocess"].transform(frame))


def test_xgboost_regression_records_its_rounds(run: RunResult, tmp_path: Path) -> None:
    _, model_run = train_directly(run, tmp_path, "xgbr", label_key="body_mass_g",
                                  task="regression", estimator="xgboost.XGBRegressor",
                                  estimator_params={"n_estimators": 30, "max_depth": 2})
    rounds = read_metrics(model_run.uri)
    assert len(rounds) == 30 and "val_rmse" in rounds[0] and "val_r2" in rounds[-1]
    assert final_metrics(rounds)["val_rmse"] < 0.6 * raw_penguins()["body_mass_g"].std()


def test_labels_unfit_for_the_task_are_data_errors(run: RunResult, tmp_path: Path) -> None:
    import pyarrow as pa
    from data_helpers import write_examples

    with pytest.raises(DataError, match=r"task 'regression' needs a numeric label.*'species'"):
        train_directly(run, tmp_path, "regress", task="regression")
    train = pa.table({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]})
    evaluation = pa.table({"x": [1.0, 5.0], "y": ["a", "c"]})
    examples = Examples(str(tmp_path / "examples"))
    examples.split_names = write_examples(examples.uri, {"train": train, "eval": evaluation})
    model, model_run = Model(str(tmp_path / "m")), ModelRun(str(tmp_path / "r"))
    with pytest.raises(DataError, match=r"split 'eval' has label values \['c'\] that the "
                                        r"training split lacks \(classes: \['a', 'b'\]\)"):
        estimators.train(examples=examples, model=model, model_run=model_run,
                         context=context(tmp_path), label_key="y", estimator=LOGISTIC,
                         estimator_params={}, task="classification", features=None,
                         train_split="train", eval_split="eval", seed=0)
