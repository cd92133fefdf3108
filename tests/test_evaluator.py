"""The Evaluator on the Palmer penguins with real models (scikit-learn and Keras/TensorFlow
SavedModels built in fixtures) and real TFMA: value and change thresholds per slice, the
blessing and its reason, the report, the views, and clear errors.

TFMA runs are shared through module-scoped fixtures: four evaluations called through the
executor directly and one pipeline run through the LocalRunner.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import run_cli
from data_helpers import (
    PENGUINS_CSV,
    penguin_examples,
    read_csv,
    split_rows,
    to_record_batch,
    write_examples,
)
from import_check import modules_imported_by
from model_fixtures import (
    classes_of,
    stored_model,
    write_constant_model,
    write_keras_model,
    write_regression_model,
    write_sklearn_model,
    write_xgboost_model,
)
from tensorflow_metadata.proto.v0 import schema_pb2

from conveyor import LatestBlessedModel, LocalRunner, Pipeline, RuntimeParameter
from conveyor.artifacts import SUMMARY, Examples, Model, ModelBlessing, ModelEvaluation, Schema
from conveyor.components.evaluator import Evaluator, eval_config
from conveyor.components.evaluator import executor as evaluator_executor
from conveyor.components.evaluator.report import Summary, draw_slices
from conveyor.components.evaluator.verdict import NO_BASELINE, NO_THRESHOLDS
from conveyor.components.evaluator.views import evaluation_text
from conveyor.data import layout
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import ArgumentError, DataError, ParameterTypeError
from conveyor.models.predict import examples_to_frame, load_predictor
from conveyor.orchestrators.local import RunResult
from conveyor.orchestrators.notebook_views import artifact_html

# TFMA's calibration metric converts one-element arrays to floats once per example and class.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Conversion of an array with ndim:DeprecationWarning")

SLICES = [[], ["island"], ["island", "sex"]]
ACCURACY_GATE = {"accuracy": {"lower_bound": 0.9, "change_relative": -0.05}}


@dataclass
class World:
    """Penguin Examples (train/eval) and four models of them."""

    root: Path
    examples: Examples
    eval_table: pa.Table
    good_sklearn: str
    shuffled_sklearn: str
    keras: str
    constant: str


@dataclass
class Outcome:
    """What one Evaluator execution published."""

    evaluation: ModelEvaluation
    blessing: ModelBlessing


def _context(root: Path) -> ExecutionContext:
    return ExecutionContext(pipeline="test", run_id="r", node_id="evaluator", execution_id=0,
                            pipeline_root=str(root), scratch_dir=str(root))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("evaluator")
    splits = split_rows(read_csv(PENGUINS_CSV))
    examples = Examples(str(root / "examples"))
    os.makedirs(examples.uri)
    examples.split_names = write_examples(examples.uri, splits)
    train = splits["train"].to_pandas()
    paths = {name: str(root / name) for name in ("good", "shuffled", "keras", "constant")}
    for path in paths.values():
        os.makedirs(path)
    write_sklearn_model(paths["good"], train)
    write_sklearn_model(paths["shuffled"], train, shuffle_labels=True)
    write_keras_model(paths["keras"], splits["train"])
    write_constant_model(paths["constant"], classes_of(train))
    return World(root, examples, splits["eval"], paths["good"], paths["shuffled"],
                 paths["keras"], paths["constant"])


def evaluate(world: World, tag: str, model: str, config: dict[str, Any],
             baseline: str | None = None, schema: Schema | None = None) -> Outcome:
    """Run the Evaluator's executor into fresh output directories."""
    evaluation = ModelEvaluation(str(world.root / tag / "evaluation"))
    blessing = ModelBlessing(str(world.root / tag / "blessing"))
    os.makedirs(evaluation.uri)
    os.makedirs(blessing.uri)
    evaluator_executor.evaluate(
        examples=world.examples, model=Model(model), evaluation=evaluation, blessing=blessing,
        eval_config=config, example_splits=["eval"], context=_context(world.root),
        baseline_model=Model(baseline) if baseline else None, schema=schema)
    return Outcome(evaluation, blessing)


@pytest.fixture(scope="module")
def blessed(world: World) -> Outcome:
    """A good scikit-learn model; change thresholds configured but no baseline resolved."""
    return evaluate(world, "blessed", world.good_sklearn,
                    eval_config("species", slices=SLICES, thresholds=ACCURACY_GATE))


@pytest.fixture(scope="module")
def rejected(world: World) -> Outcome:
    """A constant TensorFlow model against the Keras model as baseline."""
    return evaluate(world, "rejected", world.constant,
                    eval_config("species", slices=SLICES, thresholds=ACCURACY_GATE),
                    baseline=world.keras)


@pytest.fixture(scope="module")
def unconfigured(world: World) -> Outcome:
    """The Keras SavedModel with an empty eval config: default metrics, no thresholds."""
    return evaluate(world, "unconfigured", world.keras, {})


def eval_species(world: World) -> list[str]:
    return [str(v) for v in world.eval_table.column("species").to_pylist()]


def accuracy_of(probabilities: np.ndarray[Any, Any], labels: list[str],
                classes: list[str]) -> float:
    predicted = [classes[i] for i in probabilities.argmax(axis=1)]
    return float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))


def serialized_eval(world: World) -> list[bytes]:
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    return list(RecordBatchToExamplesEncoder().encode(to_record_batch(world.eval_table)))


def test_predictors_of_every_framework_answer_like_their_models(world: World) -> None:
    import joblib

    examples = serialized_eval(world)
    labels = eval_species(world)
    sklearn = load_predictor(world.good_sklearn)
    probabilities = sklearn.predict(examples)["probabilities"]
    estimator = joblib.load(os.path.join(world.good_sklearn, "Format-Estimator", "model.joblib"))
    frame = examples_to_frame(examples, list(estimator.feature_names_in_))
    np.testing.assert_allclose(probabilities, estimator.predict_proba(frame), rtol=1e-5)
    assert frame["sex"].isna().sum() == world.eval_table.column("sex").null_count > 0
    assert accuracy_of(probabilities, labels, sklearn.info.classes or []) > 0.9

    keras = load_predictor(world.keras)
    keras_probabilities = keras.predict(examples)["probabilities"]
    assert keras_probabilities.shape == (len(examples), 3)
    np.testing.assert_allclose(keras_probabilities.sum(axis=1), 1.0, rtol=1e-4)
    assert accuracy_of(keras_probabilities, labels, keras.info.classes or []) > 0.9
    constant = load_predictor(world.constant).predict(examples[:5])["probabilities"]
    assert (constant == constant[0]).all()


def test_xgboost_and_regression_predictors(world: World) -> None:
    import joblib

    train = split_rows(read_csv(PENGUINS_CSV))["train"].to_pandas()
    examples = serialized_eval(world)
    xgb_dir, regression_dir = world.root / "xgboost", world.root / "regression"
    os.makedirs(xgb_dir)
    os.makedirs(regression_dir)
    write_xgboost_model(str(xgb_dir), train)
    predictor = load_predictor(str(xgb_dir))
    probabilities = predictor.predict(examples)["probabilities"]
    assert predictor.info.framework == "xgboost" and probabilities.shape == (len(examples), 3)
    assert accuracy_of(probabilities, eval_species(world), predictor.info.classes or []) > 0.9
    write_regression_model(str(regression_dir), train)
    regression = load_predictor(str(regression_dir))
    predictions = regression.predict(examples)["predictions"]
    estimator = joblib.load(regression_dir / "Format-Estimator" / "model.joblib")
    frame = examples_to_frame(examples, list(estimator.feature_names_in_))
    np.testing.assert_allclose(predictions, estimator.predict(frame), rtol=1e-5)


def test_blessed_model_passes_value_thresholds_without_a_baseline(
        world: World, blessed: Outcome) -> None:
    properties = blessed.blessing.custom_properties
    assert os.path.isfile(os.path.join(blessed.blessing.uri, "BLESSED"))
    assert not os.path.exists(os.path.join(blessed.blessing.uri, "NOT_BLESSED"))
    assert properties["blessed"] == 1
    assert properties["current_model"] == world.good_sklearn
    assert properties["baseline_model"] == ""
    reason = str(properties["reason"])
    assert "passed on every slice" in reason
    assert f"{NO_BASELINE}: change thresholds skipped" in reason


def test_evaluation_is_readable_by_tfma_with_every_slice(world: World, blessed: Outcome) -> None:
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(blessed.evaluation.uri)
    by_slice = {key: metrics[""] for key, metrics in result.slicing_metrics}
    islands = sorted({str(v) for v in world.eval_table.column("island").to_pylist()})
    assert set(by_slice) >= {(), *((("island", i),) for i in islands)}
    assert any(len(key) == 2 and key[1][0] == "sex" for key in by_slice)  # the feature cross
    overall = by_slice[()]
    assert overall[""]["example_count"]["doubleValue"] == world.eval_table.num_rows
    predictor = load_predictor(world.good_sklearn)
    expected = accuracy_of(predictor.predict(serialized_eval(world))["probabilities"],
                           eval_species(world), predictor.info.classes or [])
    assert overall[""]["accuracy"]["doubleValue"] == pytest.approx(expected, abs=1e-6)
    for class_id in range(3):  # per-class metrics: the class ids were filled in
        per_class = overall[f"classId:{class_id}"]
        assert {"auc", "precision", "recall", "calibration"} <= set(per_class)
    assert result.plots  # MultiClassConfusionMatrixPlot


def test_worse_model_is_not_blessed_naming_metric_and_slice(world: World,
                                                            rejected: Outcome) -> None:
    import tensorflow_model_analysis as tfma

    properties = rejected.blessing.custom_properties
    assert os.path.isfile(os.path.join(rejected.blessing.uri, "NOT_BLESSED"))
    assert properties["blessed"] == 0
    assert properties["baseline_model"] == world.keras
    reason = str(properties["reason"])
    # Biscoe is mostly Gentoo; a model always answering the first class (Adelie) fails there.
    result = tfma.load_eval_result(rejected.evaluation.uri, model_name="candidate")
    biscoe = dict(result.slicing_metrics)[(("island", "Biscoe"),)][""][""]["accuracy"]
    value = biscoe["doubleValue"]
    assert f"accuracy on slice island=Biscoe: {value:.4g} is below the lower bound 0.9" in reason
    assert "accuracy on slice island=Biscoe: change vs baseline" in reason
    assert "breaks the allowed relative change -0.05" in reason
    # Torgersen holds only Adelie penguins: the constant answer is right there, so no failure.
    assert "slice island=Torgersen:" not in reason
    # Listed in reading order, the same on every run: Overall, single features, crosses.
    failed = [line.strip() for line in reason.splitlines() if " on slice " in line]
    order = [(where.count("="), where, metric, "change vs baseline" in rest)
             for metric, _, after in (line.partition(" on slice ") for line in failed)
             for where, _, rest in [after.partition(": ")]]
    assert order == sorted(order) and order[0][1] == "Overall" and order[-1][0] == 2
    # The run table's one line names the count and the first failure.
    assert properties[SUMMARY] == (f"NOT BLESSED: {len(failed)} threshold checks failed, "
                                   f"first: {failed[0]}")
    validation = tfma.load_validation_result(rejected.evaluation.uri)
    assert not validation.validation_ok


def test_no_thresholds_blesses_by_default_and_says_so(world: World,
                                                      unconfigured: Outcome) -> None:
    properties = unconfigured.blessing.custom_properties
    assert properties["blessed"] == 1
    assert str(properties["reason"]).splitlines()[0] == NO_THRESHOLDS
    assert os.path.isfile(os.path.join(unconfigured.blessing.uri, "BLESSED"))
    summary = Summary.load(unconfigured.evaluation.uri)
    assert [row.slice for row in summary.rows] == ["Overall"]
    assert summary.main_metric == "accuracy"
    assert summary.columns[:2] == ["example_count", "accuracy"]
    assert {"auc[Adelie]", "recall[Gentoo]", "calibration[Chinstrap]"} <= set(summary.columns)


def test_report_lists_slices_worst_first_with_a_plot(world: World, rejected: Outcome) -> None:
    summary = Summary.load(rejected.evaluation.uri)
    values = [row.metrics["accuracy"] for row in summary.rows]
    assert values == sorted(values, key=lambda v: float("inf") if v is None else v)
    assert summary.rows[0].failures and summary.main_bound == 0.9
    with open(os.path.join(rejected.evaluation.uri, "report.html"), encoding="utf-8") as f:
        page = f.read()
    for row in summary.rows:
        assert f"<td style='border: 1px solid #e1e4e8; padding: 2px 8px; text-align: left; " \
               f"vertical-align: top'>{row.slice}</td>" in page
    assert "NOT BLESSED" in page and "slices.png" in page
    with open(os.path.join(rejected.evaluation.uri, "slices.png"), "rb") as f:
        png = f.read()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    # The plot marks the baseline's value on each slice beside the candidate's bar.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots()
    try:
        draw_slices(axes, summary, summary.rows)
        [markers] = axes.collections
        assert [x for x, _ in markers.get_offsets()] == \
            pytest.approx([row.baseline["accuracy"] for row in summary.rows])
        assert [bar.get_width() for bar in axes.patches] == \
            pytest.approx([row.metrics["accuracy"] for row in summary.rows])
    finally:
        plt.close(figure)
    text = evaluation_text(rejected.evaluation.uri, limit=3)
    worst = [line for line in text.splitlines() if "FAILED" in line]
    assert len(worst) == 3 and summary.rows[0].slice in worst[0]
    assert f"... and {len(summary.rows) - 3} more" in text


def test_declaration_checks_the_config_without_tfma(world: World) -> None:
    examples = penguin_examples(source=PENGUINS_CSV)
    model = stored_model(source=world.good_sklearn)
    with pytest.raises(ArgumentError, match="change thresholds but 'baseline_model' is not wired"):
        Evaluator(examples=examples.outputs.examples, model=model.outputs.model,
                  eval_config=eval_config("species", thresholds=ACCURACY_GATE))
    with pytest.raises(ParameterTypeError, match=r"unknown metric 'acuracy'.*'accuracy'"):
        eval_config("species", metrics=["acuracy"])
    with pytest.raises(ParameterTypeError, match="unknown field 'slicingSpec'"):
        Evaluator(examples=examples.outputs.examples, model=model.outputs.model,
                  eval_config={"slicingSpec": [{}]})
    with pytest.raises(ParameterTypeError, match="direction must be one of"):
        Evaluator(examples=examples.outputs.examples, model=model.outputs.model,
                  eval_config={"metricsSpecs": [{"metrics": [{"className": "AUC", "threshold": {
                      "changeThreshold": {"relative": 0.1, "direction": "UP"}}}]}]})
    import tensorflow_model_analysis as tfma

    proto = tfma.EvalConfig(slicing_specs=[tfma.SlicingSpec(feature_keys=["island"])])
    node = Evaluator(examples=examples.outputs.examples, model=model.outputs.model,
                     eval_config=proto)
    assert node.parameters["eval_config"] == {"slicingSpecs": [{"featureKeys": ["island"]}]}


def test_examples_are_read_from_parquet_and_several_splits(world: World,
                                                           tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    splits = split_rows(read_csv(PENGUINS_CSV))
    for name, table in splits.items():
        os.makedirs(tmp_path / f"Split-{name}")
        pq.write_table(table, tmp_path / f"Split-{name}" / "data_0.parquet")  # float64 columns
    parquet = Examples(str(tmp_path), properties={"split_names": ["train", "eval"]})
    serialized, table = evaluator_executor.read_examples(parquet, ["train", "eval"])
    assert len(serialized) == table.num_rows == 344
    records, _ = evaluator_executor.read_examples(world.examples, ["eval"])
    predictor = load_predictor(world.good_sklearn)
    from_parquet = predictor.predict(serialized[-len(records):])["probabilities"]
    np.testing.assert_allclose(from_parquet, predictor.predict(records)["probabilities"],
                               rtol=1e-5)
    with pytest.raises(DataError, match=r"have no split 'evall'\. Did you mean 'eval'"):
        evaluator_executor.read_examples(parquet, ["evall"])


def test_integer_features_stay_integers_with_missing_values(world: World) -> None:
    _, table = evaluator_executor.read_examples(world.examples, ["eval"])
    frame = evaluator_executor.examples_to_frame_from_table(table, ["flipper_length_mm",
                                                                    "year", "sex"])
    flipper = world.eval_table.column("flipper_length_mm")
    assert flipper.null_count > 0 and str(frame["flipper_length_mm"].dtype) == "Int64"
    assert frame["flipper_length_mm"].dropna().tolist() == flipper.drop_null().to_pylist()
    assert frame["year"].tolist() == world.eval_table.column("year").to_pylist()
    assert frame["sex"].tolist() == world.eval_table.column("sex").to_pylist()


@pytest.mark.parametrize("problem", ["label", "slice", "model_info", "schema"])
def test_bad_input_is_a_clear_error(world: World, problem: str, tmp_path: Path) -> None:
    model = world.good_sklearn
    config = eval_config("species", slices=[["island"]])
    if problem == "label":
        config = eval_config("specie", slices=[["island"]])
        expected = r"label 'specie' is not a feature of the examples.*Did you mean 'species'"
    elif problem == "slice":
        config = eval_config("species", slices=[["islands", "sex"]])
        expected = r"slicing feature 'islands' is not a feature.*Did you mean 'island'"
    elif problem == "schema":
        schema = Schema(str(tmp_path / "schema"))
        os.makedirs(schema.uri)
        curated = schema_pb2.Schema()
        for name in ("species", "sex"):  # a curated schema that dropped 'island'
            curated.feature.add(name=name)
        layout.write_schema(schema.uri, curated)
        expected = r"slicing feature 'island' is not in the schema at .*/schema"
    else:
        model = str(tmp_path / "no_info")
        os.makedirs(model)
        expected = r"no_info/model_info.json is missing"
    with pytest.raises(DataError, match=expected):
        evaluate(world, f"bad_{problem}", model, config,
                 schema=schema if problem == "schema" else None)


def test_regression_model_with_an_error_bound(world: World) -> None:
    train = split_rows(read_csv(PENGUINS_CSV))["train"].to_pandas()
    model = world.root / "regression_eval"
    os.makedirs(model)
    write_regression_model(str(model), train)
    outcome = evaluate(world, "regression", str(model), eval_config(
        "body_mass_g", slices=[[], ["species"]], metrics=["example_count", "mae", "mse"],
        thresholds={"mae": {"upper_bound": 400.0}}))
    summary = Summary.load(outcome.evaluation.uri)
    assert summary.main_metric == "mae" and not summary.higher_is_better
    values = [row.metrics["mae"] for row in summary.rows]
    assert values == sorted(values, reverse=True)  # worst (largest error) first
    assert 100 < values[-1] and values[0] < 400  # grams: a real, imperfect fit
    assert outcome.blessing.custom_properties["blessed"] == 1
    unlabelled = world.eval_table.column("body_mass_g").null_count
    assert unlabelled > 0  # the penguins have a few unweighed birds: left out, and said so
    assert (f"{unlabelled} of {world.eval_table.num_rows} examples have no 'body_mass_g' label "
            f"and were left out") in str(outcome.blessing.custom_properties["reason"])
    overall = next(row for row in summary.rows if row.slice == "Overall")
    assert overall.metrics["example_count"] == world.eval_table.num_rows - unlabelled
    assert {row.slice for row in summary.rows} == {"Overall", "species=Adelie",
                                                   "species=Chinstrap", "species=Gentoo"}


def test_declarations_compile_and_import_no_ml_library() -> None:
    code = ("from conveyor.components.evaluator import Evaluator, eval_config\n"
            "import conveyor.components.evaluator.views, conveyor.models.predict\n"
            "from conveyor.components.examplegen import CsvExampleGen\n"
            "from conveyor import Out, component\n"
            "from conveyor.artifacts import Model\n"
            "@component\n"
            "def train(model: Out[Model]) -> None: ...\n"
            "from conveyor import Pipeline, compile_pipeline\n"
            "gen = CsvExampleGen(input_base='x')\n"
            "model = train()\n"
            "node = Evaluator(examples=gen.outputs.examples, model=model.outputs.model,"
            " eval_config=eval_config('species', slices=[['island']]))\n"
            "ir = compile_pipeline(Pipeline('p', [gen, model, node], root='r'))\n"
            "assert '\"featureKeys\"' in ir.to_json()\n")
    assert modules_imported_by(code, [
        "tensorflow", "tensorflow_model_analysis", "apache_beam", "pyarrow", "pandas",
        "tfx_bsl", "sklearn", "joblib", "matplotlib", "google.protobuf"]) == []


@pytest.fixture(scope="module")
def pipeline_runs(world: World) -> list[RunResult]:
    """Examples -> model -> Evaluator whose baseline is the latest blessed model, run twice:
    first with the good model (nothing blessed yet), then with the shuffled-label one."""
    examples = penguin_examples(source=PENGUINS_CSV)
    model = stored_model(source=RuntimeParameter("model_dir", str, default=world.good_sklearn),
                         id="trainer")
    latest = LatestBlessedModel(model_from=model, blessing_from="evaluator")
    evaluate_node = Evaluator(
        examples=examples.outputs.examples, model=model.outputs.model,
        baseline_model=latest.outputs.model,
        eval_config=eval_config(slices=[[], ["island"]],
                                metrics=["example_count", "accuracy", "auc"],
                                thresholds={"accuracy": {"lower_bound": 0.8},
                                            "auc": {"change_relative": -0.1}}),
        id="evaluator")
    pipeline = Pipeline("evaluate", [examples, model, latest, evaluate_node],
                        root=str(world.root / "pipeline"))
    runner = LocalRunner()
    return [runner.run(pipeline, parameters={"model_dir": source})
            for source in (world.good_sklearn, world.shuffled_sklearn)]


def test_first_run_has_no_baseline_and_says_so(pipeline_runs: list[RunResult]) -> None:
    first = pipeline_runs[0]
    properties = first["evaluator"].outputs["blessing"][0].custom_properties
    assert properties["blessed"] == 1
    assert properties["baseline_model"] == "" and properties["baseline_model_id"] == -1
    assert properties["current_model_id"] == first["trainer"].outputs["model"][0].id
    assert f"{NO_BASELINE}: change thresholds skipped" in str(properties["reason"])


def test_worse_model_fails_against_the_blessed_baseline(pipeline_runs: list[RunResult]) -> None:
    first, second = pipeline_runs
    blessing = second["evaluator"].outputs["blessing"][0]
    evaluation = second["evaluator"].outputs["evaluation"][0]
    properties = blessing.custom_properties
    assert properties["blessed"] == 0
    assert properties["current_model"] == second["trainer"].outputs["model"][0].uri
    baseline = first["trainer"].outputs["model"][0]
    assert properties["baseline_model"] == baseline.uri
    assert properties["baseline_model_id"] == baseline.id
    reason = str(properties["reason"])
    assert "auc[Adelie] on slice Overall: change vs baseline" in reason
    assert "breaks the allowed relative change -0.1" in reason
    assert "accuracy on slice island=Biscoe:" in reason and "below the lower bound 0.8" in reason
    # Torgersen holds only Adelie penguins: AUC is 0 for both models there, and TFMA fails a
    # relative change from 0; the reason says why.
    torgersen = [line for line in reason.splitlines() if "slice island=Torgersen:" in line]
    assert torgersen and all("a relative change from a baseline of 0 is undefined" in line
                             for line in torgersen)
    with open(os.path.join(evaluation.uri, "eval_config.json"), encoding="utf-8") as f:
        models = json.load(f)["evalConfig"]["modelSpecs"]
    assert [m.get("isBaseline", False) for m in models] == [False, True]


def test_views_show_worst_slices_and_the_verdict(pipeline_runs: list[RunResult]) -> None:
    pipeline_run = pipeline_runs[1]
    evaluation = pipeline_run["evaluator"].outputs["evaluation"][0]
    blessing = pipeline_run["evaluator"].outputs["blessing"][0]
    shown = run_cli("show", str(evaluation.id), "--root", pipeline_run.root, check=True).stdout
    assert "NOT BLESSED" in shown and "Worst slices" in shown and "island=" in shown
    shown = run_cli("show", str(blessing.id), "--root", pipeline_run.root, check=True).stdout
    assert "verdict: NOT_BLESSED" in shown and "reason:" in shown
    page = artifact_html(evaluation, {})
    assert "data:image/png;base64," in page and "island=Biscoe" in page
    assert "NOT BLESSED" in artifact_html(blessing, {})


def test_native_accuracy_equals_keras_sparse_categorical_accuracy_on_every_slice() -> None:
    import pandas as pd
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format

    rng = np.random.default_rng(7)
    rows = 240
    labels = rng.integers(0, 3, rows)
    scores = rng.random((rows, 3))
    scores[:40] = 1 / 3  # ties: both pick the first class
    frame = pd.DataFrame({"label": labels, "prediction": list(scores),
                          "group": rng.choice(["a", "b", "c"], rows),
                          "weight": rng.uniform(0.5, 2.0, rows)})
    config = json_format.ParseDict({
        "modelSpecs": [{"labelKey": "label", "predictionKey": "prediction",
                        "exampleWeightKey": "weight"}],
        "slicingSpecs": [{}, {"featureKeys": ["group"]}],
        "metricsSpecs": [{"metrics": [
            {"className": "MulticlassAccuracy",
             "module": "conveyor.components.evaluator.tfma_metrics",
             "config": '"name": "ours"'},
            {"className": "SparseCategoricalAccuracy", "config": '"name": "keras"'}]}],
    }, tfma.EvalConfig())

    result = tfma.analyze_raw_data(frame, config)

    assert len(result.slicing_metrics) == 4
    for _, metrics in result.slicing_metrics:
        values = metrics[""][""]
        assert values["ours"]["doubleValue"] == pytest.approx(values["keras"]["doubleValue"],
                                                              abs=1e-6)
    overall = dict(result.slicing_metrics)[()][""][""]["ours"]["doubleValue"]
    hits = (scores.argmax(axis=1) == labels)
    assert overall == pytest.approx(float(np.average(hits, weights=frame["weight"])), abs=1e-6)
    assert 0.2 < overall < 0.6  # a weak model, so a wrong formula would show
