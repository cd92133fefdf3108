"""StatisticsGen, SchemaGen, ImportSchemaGen and ExampleValidator on real data (the Palmer
penguins, and synthetic spans with injected drift and skew), through the LocalRunner where wiring
and the stop policy matter and through the executors directly for thresholds and engines."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli
from data_helpers import (
    PENGUINS_CSV,
    downstream,
    penguin_examples,
    read_csv,
    split_rows,
    synthetic_examples,
    synthetic_table,
    write_examples,
)
from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from conveyor import InteractiveContext, LocalRunner, Pipeline
from conveyor.artifacts import ExampleAnomalies, Examples, ExampleStatistics, Schema
from conveyor.components.validate import (
    ExampleValidator,
    ImportSchemaGen,
    SchemaGen,
    StatisticsGen,
    views,
)
from conveyor.components.validate import anomalies as anomalies_executor
from conveyor.components.validate import schema as schema_executor
from conveyor.components.validate import statistics as statistics_executor
from conveyor.data import layout
from conveyor.data.examples import find_split_files, read_batches
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import ArgumentError, DataError, ParameterTypeError, RunFailedError, StopRun
from conveyor.metadata.records import COMPLETE
from conveyor.orchestrators.local import RunResult
from conveyor.runtime.launcher import SKIPPED

PENGUIN_FEATURES = {"species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                    "body_mass_g", "sex", "year"}


def context(tmp: Path, beam_args: list[str] | None = None) -> ExecutionContext:
    """An execution context for calling an executor directly."""
    return ExecutionContext(pipeline="test", run_id="r", node_id="node", execution_id=0,
                            pipeline_root=str(tmp), scratch_dir=str(tmp),
                            beam_args=beam_args or [])


def states(result: RunResult) -> dict[str, str]:
    """Node id -> state."""
    return {r.node_id: r.state for r in result.nodes}


def output_uri(result: RunResult, node: str, key: str) -> str:
    """Where a node's output was published."""
    return result[node].outputs[key][0].uri


def assert_same_statistics(actual: statistics_pb2.DatasetFeatureStatisticsList,
                           expected: statistics_pb2.DatasetFeatureStatisticsList) -> None:
    """Equal statistics up to what merge order may change: float rounding, and histograms,
    which TFDV derives from a quantiles sketch of rank error epsilon (0.01): bucket counts
    within epsilon x examples, bucket bounds within 1%."""
    examples = expected.datasets[0].num_examples
    _assert_close(as_dict(actual), as_dict(expected), "", examples)


def _assert_close(actual: Any, expected: Any, where: str, examples: int) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            _assert_close(actual[key], expected[key], f"{where}.{key}", examples)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_close(a, e, f"{where}[{i}]", examples)
    elif ".histograms" in where and where.endswith("sampleCount"):
        assert abs(actual - expected) <= 0.01 * examples, where
    elif ".histograms" in where and where.endswith(("lowValue", "highValue")):
        assert math.isclose(actual, expected, rel_tol=1e-2, abs_tol=1e-2), where
    elif isinstance(expected, float):
        assert math.isclose(actual, expected, rel_tol=1e-9), where
    else:
        assert actual == expected, where


def as_dict(stats: statistics_pb2.DatasetFeatureStatisticsList) -> dict[str, Any]:
    """A statistics proto as a dict, features in name order."""
    data = json_format.MessageToDict(stats)
    for dataset in data["datasets"]:
        dataset["features"].sort(key=lambda f: f["path"]["step"])
    return data


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    """The penguins as train/eval Examples (TFRecords)."""
    uri = str(tmp_path_factory.mktemp("penguins"))
    examples = Examples(uri)
    examples.split_names = write_examples(uri, split_rows(read_csv(PENGUINS_CSV)))
    examples.span = 0
    return examples


def make_statistics(examples: Examples, tmp: Path, name: str) -> ExampleStatistics:
    """Run StatisticsGen's executor on ``examples``."""
    statistics = ExampleStatistics(str(tmp / name))
    os.makedirs(statistics.uri)
    statistics_executor.run(examples=examples, statistics=statistics, exclude_splits=[],
                            engine="auto", context=context(tmp))
    return statistics


@dataclass
class Spans:
    """Statistics of synthetic spans: ``base`` and ``same`` drawn alike, ``drifted`` with a
    shifted ``size`` and re-weighted ``colour``, ``serving`` data (one split) skewed alike, and
    the schema inferred from ``base``."""

    base: ExampleStatistics
    same: ExampleStatistics
    drifted: ExampleStatistics
    serving: ExampleStatistics
    schema: Schema


@pytest.fixture(scope="module")
def spans(tmp_path_factory: pytest.TempPathFactory) -> Spans:
    """See :class:`Spans`."""
    tmp = tmp_path_factory.mktemp("spans")
    made = {}
    for name, seed, shift, weights in [("base", 1, 0.0, None), ("same", 2, 0.0, None),
                                       ("drifted", 3, 3.0, (6.0, 1.0, 1.0))]:
        examples = Examples(str(tmp / f"{name}-examples"))
        examples.split_names = write_examples(examples.uri, {
            split: synthetic_table(3000, seed=seed * 10 + i, shift=shift, colour_weights=weights)
            for i, split in enumerate(["train", "eval"])})
        made[name] = make_statistics(examples, tmp, name)
    serving = Examples(str(tmp / "serving-examples"))
    serving.split_names = write_examples(serving.uri, {"serving": synthetic_table(
        3000, seed=99, shift=3.0, colour_weights=(6.0, 1.0, 1.0))})
    schema = Schema(str(tmp / "schema"))
    schema_executor.infer(statistics=made["base"], schema=schema, infer_feature_shape=True,
                          exclude_splits=[], context=context(tmp))
    return Spans(made["base"], made["same"], made["drifted"],
                 make_statistics(serving, tmp, "serving"), schema)


# ---- StatisticsGen ---------------------------------------------------------------------------

def penguin_pipeline(root: Path, on_anomalies: Literal["stop", "warn"] = "stop",
                     **corruption: str) -> tuple[Pipeline, dict[str, str]]:
    """penguins (``eval`` optionally corrupted) -> statistics -> schema (from ``train``) ->
    validator -> downstream."""
    gen = penguin_examples(source=PENGUINS_CSV, **corruption)
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics, exclude_splits=["eval"])
    check = ExampleValidator(statistics=stats.outputs.statistics, schema=schema.outputs.schema,
                             on_anomalies=on_anomalies)
    after = downstream(statistics=stats.outputs.statistics).after(check)
    ids = {"stats": stats.id, "schema": schema.id, "check": check.id, "after": after.id}
    return Pipeline("penguins", [gen, stats, schema, check, after], root=str(root)), ids


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The clean penguin pipeline, run once for the tests reading its outputs."""
    pipeline, _ = penguin_pipeline(tmp_path_factory.mktemp("clean"))
    return LocalRunner().run(pipeline)


def test_clean_data_passes_every_node(clean_run: RunResult) -> None:
    assert set(states(clean_run).values()) == {COMPLETE}
    anomalies = clean_run["example_validator"].outputs["anomalies"][0]
    assert anomalies.custom_properties["anomaly_count"] == 0
    assert json.loads(anomalies.custom_properties["anomalies_per_split"]) == {"train": 0,
                                                                               "eval": 0}
    assert os.path.isfile(os.path.join(output_uri(clean_run, "downstream", "done"), "ran.txt"))


def test_statistics_per_split_have_the_right_counts(clean_run: RunResult) -> None:
    record = clean_run["statistics_gen"].outputs["statistics"][0]
    assert record.to_artifact().split_names == ["train", "eval"]
    assert record.custom_properties["engine"] == "in_process"
    splits = split_rows(read_csv(PENGUINS_CSV))
    for split in ("train", "eval"):
        stats = statistics_pb2.DatasetFeatureStatisticsList()
        path = os.path.join(record.uri, f"Split-{split}", "FeatureStats.pb")
        stats.ParseFromString(Path(path).read_bytes())
        (dataset,) = stats.datasets
        assert dataset.num_examples == splits[split].num_rows
        features = {f.path.step[0]: f for f in dataset.features}
        assert set(features) == PENGUIN_FEATURES
        missing = splits[split].column("bill_length_mm").null_count
        common = features["bill_length_mm"].num_stats.common_stats
        assert (common.num_non_missing, common.num_missing) == (
            splits[split].num_rows - missing, missing)
        species = {v.value for v in features["species"].string_stats.top_values}
        assert species == {"Adelie", "Gentoo", "Chinstrap"}


def test_stats_html_holds_tfdv_view_and_summary(clean_run: RunResult) -> None:
    uri = output_uri(clean_run, "statistics_gen", "statistics")
    page = Path(uri, "Split-train", "stats.html").read_text()
    assert "<facets-overview" in page and "protostr" not in page  # TFDV's, proto filled in
    assert "bill_length_mm" in page and "<table" in page  # the offline summary
    assert page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("payload", ["tfrecord", "parquet"])
def test_in_process_and_beam_give_the_same_statistics(tmp_path: Path, payload: str) -> None:
    # Penguins (numbers, text, missing values) beside a synthetic span, in 3 shards of several
    # batches each, so that both engines merge many partial results.
    penguins = read_csv(PENGUINS_CSV)
    table = pa.concat_tables([penguins] * 30).append_column(
        "size", synthetic_table(len(penguins) * 30, seed=5).column("size"))
    rows = table.num_rows // 3 + 1
    if payload == "tfrecord":
        write_examples(str(tmp_path / "examples"), {"train": table}, shards=3,
                       rows_per_batch=1_500)
    else:
        os.makedirs(tmp_path / "examples" / "Split-train")
        for i in range(3):
            pq.write_table(table.slice(i * rows, rows),
                           tmp_path / "examples" / "Split-train" / f"data_{i}.parquet",
                           row_group_size=1_500)
    files = find_split_files(str(tmp_path / "examples"), "train")
    assert files.payload == payload
    in_process = statistics_executor.compute_in_process(read_batches(files, batch_rows=2_000))
    statistics_executor.compute_with_beam({"train": files}, str(tmp_path / "beam"), [])
    on_beam = layout.read_statistics(str(tmp_path / "beam"), "train")
    assert in_process.datasets[0].num_examples == table.num_rows
    assert len(in_process.datasets[0].features) == len(PENGUIN_FEATURES) + 1
    assert_same_statistics(on_beam, in_process)


def test_the_engine_follows_the_beam_options() -> None:
    runs_in_process = statistics_executor.runs_in_process
    assert runs_in_process([])
    assert runs_in_process(["--runner=DirectRunner", "--direct_num_workers=2"])
    assert runs_in_process(["--direct_running_mode=multi_threading"])
    assert not runs_in_process(["--direct_running_mode=multi_processing"])
    assert not runs_in_process(["--runner", "FlinkRunner"])


def test_beam_engine_writes_the_same_artifact(penguins: Examples, tmp_path: Path) -> None:
    statistics = ExampleStatistics(str(tmp_path / "stats"))
    statistics_executor.run(examples=penguins, statistics=statistics, exclude_splits=["eval"],
                            engine="beam", context=context(tmp_path))
    assert statistics.split_names == ["train"]
    assert statistics.custom_properties["engine"] == "beam"
    assert os.path.isfile(os.path.join(statistics.uri, "Split-train", "stats.html"))
    expected = statistics_executor.compute_in_process(
        read_batches(find_split_files(penguins.uri, "train")))
    assert_same_statistics(layout.read_statistics(statistics.uri, "train"), expected)


def test_unreadable_examples_are_data_errors(tmp_path: Path) -> None:
    os.makedirs(tmp_path / "Split-train")
    with pytest.raises(DataError, match=r"split 'train' .* holds no data file"):
        find_split_files(str(tmp_path), "train")
    (tmp_path / "Split-train" / "data_0.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"cannot read TFRecord file .*data_0\.gz"):
        statistics_executor.compute_in_process(
            read_batches(find_split_files(str(tmp_path), "train")))


def test_a_feature_changing_type_between_files_is_a_data_error(tmp_path: Path) -> None:
    write_examples(str(tmp_path / "a"), {"train": pa.table({"x": [1, 2, 3]})})
    write_examples(str(tmp_path / "b"), {"train": pa.table({"x": ["one", "two"]})})
    os.rename(tmp_path / "b" / "Split-train" / "data_tfrecord-00000-of-00001.gz",
              tmp_path / "a" / "Split-train" / "data_tfrecord-00001-of-00001.gz")
    examples = Examples(str(tmp_path / "a"))
    with pytest.raises(DataError, match=r"split 'train' .*feature x.*keep one type"):
        statistics_executor.run(examples=examples, statistics=ExampleStatistics(
            str(tmp_path / "stats")), exclude_splits=[], engine="auto",
            context=context(tmp_path))


# ---- SchemaGen and ImportSchemaGen -----------------------------------------------------------

def test_schema_gen_infers_the_penguin_features(clean_run: RunResult) -> None:
    schema = layout.read_schema(output_uri(clean_run, "schema_gen", "schema"))
    features = {f.name: f for f in schema.feature}
    assert set(features) == PENGUIN_FEATURES
    assert features["bill_length_mm"].type == schema_pb2.FLOAT
    assert features["body_mass_g"].type == schema_pb2.INT
    assert features["species"].type == schema_pb2.BYTES
    domains = {d.name: set(d.value) for d in schema.string_domain}
    assert domains[features["species"].domain] == {"Adelie", "Gentoo", "Chinstrap"}
    assert features["island"].presence.min_fraction == 1.0
    assert features["island"].shape.dim[0].size == 1  # infer_feature_shape


def test_import_schema_gen_publishes_a_curated_schema(tmp_path: Path,
                                                      clean_run: RunResult) -> None:
    curated = layout.read_schema(output_uri(clean_run, "schema_gen", "schema"))
    species = next(d for d in curated.string_domain if d.name == "species")
    species.value.remove("Chinstrap")  # the curator says: no Chinstrap expected
    schema_file = tmp_path / "schema.pbtxt"
    layout.write_schema(str(tmp_path), curated)
    gen = penguin_examples(source=PENGUINS_CSV)
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = ImportSchemaGen(schema_file=str(schema_file))
    check = ExampleValidator(statistics=stats.outputs.statistics, schema=schema.outputs.schema,
                             on_anomalies="warn")
    result = LocalRunner().run(Pipeline("curated", [gen, stats, schema, check],
                                        root=str(tmp_path / "root")))
    assert layout.read_schema(output_uri(result, "import_schema_gen", "schema")) == curated
    anomalies_uri = output_uri(result, "example_validator", "anomalies")
    found = anomalies_executor.findings("train", layout.read_anomalies(anomalies_uri, "train"))
    assert [(f.feature, "Chinstrap" in f.description) for f in found] == [("species", True)]


def test_import_schema_gen_rejects_a_file_that_is_not_a_schema(tmp_path: Path) -> None:
    bad = tmp_path / "schema.pbtxt"
    bad.write_text("feature { name: 'x' type: NOT_A_TYPE }\n")
    result = LocalRunner(raise_on_failure=False).run(
        Pipeline("bad", [ImportSchemaGen(schema_file=str(bad))], root=str(tmp_path / "root")))
    error = result["import_schema_gen"].error or ""
    assert "DataError" in error and str(bad) in error and "Schema" in error


# ---- ExampleValidator: schema anomalies and the policy ----------------------------------------

CORRUPTIONS = {
    "new category": ({"new_species": "Emperor"}, "species", "Emperor"),
    "wrong type": ({"wrong_type_column": "body_mass_g"}, "body_mass_g", "got STRING"),
    "missing column": ({"drop_column": "island"}, "island", "island"),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupted_split_stops_the_run(tmp_path: Path,
                                         corruption: tuple[dict[str, str], str, str]) -> None:
    change, feature, mentioned = corruption
    pipeline, ids = penguin_pipeline(tmp_path, **change)
    result = LocalRunner(raise_on_failure=False).run(pipeline)
    assert states(result)[ids["check"]] == COMPLETE
    assert states(result)[ids["after"]] == SKIPPED
    assert result.stopped == [ids["check"]]
    reason = result[ids["check"]].stop_reason or ""
    assert f"split 'eval' feature '{feature}'" in reason and mentioned in reason
    assert "on_anomalies='warn'" in reason
    anomalies = result[ids["check"]].outputs["anomalies"][0]
    assert anomalies.state == "LIVE" and anomalies.custom_properties["anomaly_count"] >= 1
    assert json.loads(anomalies.custom_properties["anomalies_per_split"])["train"] == 0
    assert feature in layout.read_anomalies(anomalies.uri, "eval").anomaly_info


def test_warn_policy_lets_the_run_go_on(tmp_path: Path) -> None:
    pipeline, ids = penguin_pipeline(tmp_path, new_species="Emperor", on_anomalies="warn")
    result = LocalRunner().run(pipeline)
    assert set(states(result).values()) == {COMPLETE}
    assert result[ids["check"]].outputs["anomalies"][0].custom_properties["anomaly_count"] == 1
    log = Path(result[ids["check"]].log_path or "").read_text()
    assert "split 'eval' feature 'species'" in log and "the run goes on" in log


# ---- ExampleValidator: drift and skew -------------------------------------------------------

def validate(tmp: Path, spans: Spans, current: ExampleStatistics, *,
             drift: dict[str, dict[str, float]] | None = None,
             skew: dict[str, dict[str, float]] | None = None) -> ExampleAnomalies:
    """Run the validator's executor with the 'warn' policy; returns its output."""
    anomalies = ExampleAnomalies(str(tmp / "anomalies"))
    anomalies_executor.validate(
        statistics=current, schema=spans.schema, anomalies=anomalies,
        baseline_statistics=spans.base if drift else None,
        serving_statistics=spans.serving if skew else None, drift=drift or {},
        skew=skew or {}, skew_split="train", exclude_splits=[], on_anomalies="warn",
        context=context(tmp))
    return anomalies


def flagged(anomalies: ExampleAnomalies) -> set[tuple[str, str]]:
    """(split, feature) pairs with anomalies."""
    return {(f.split, f.feature) for split in anomalies.split_names
            for f in anomalies_executor.findings(split, layout.read_anomalies(anomalies.uri,
                                                                              split))}


@pytest.mark.parametrize("threshold, expected", [
    (0.05, {("train", "colour"), ("eval", "colour"), ("train", "size"), ("eval", "size")}),
    (0.95, set()),
])
def test_drift_above_the_threshold_is_flagged(tmp_path: Path, spans: Spans,
                                              threshold: float,
                                              expected: set[tuple[str, str]]) -> None:
    drift = {"colour": {"infinity_norm": threshold},
             "size": {"jensen_shannon_divergence": threshold}}
    assert flagged(validate(tmp_path, spans, spans.drifted, drift=drift)) == expected


def test_same_distribution_shows_no_drift(tmp_path: Path, spans: Spans) -> None:
    drift = {"colour": {"infinity_norm": 0.05}, "size": {"jensen_shannon_divergence": 0.05}}
    anomalies = validate(tmp_path, spans, spans.same, drift=drift)
    assert flagged(anomalies) == set()
    measured = views.measurements("train", layout.read_anomalies(anomalies.uri, "train"))
    assert {(row[1], row[2], row[3]) for row in measured} == {
        ("colour", "drift", "L-infinity"), ("size", "drift", "Jensen-Shannon")}
    assert all(float(row[4]) < 0.05 for row in measured)


@pytest.mark.parametrize("threshold, expected", [(0.05, {("train", "colour")}), (0.9, set())])
def test_skew_against_serving_is_flagged_above_the_threshold(
        tmp_path: Path, spans: Spans, threshold: float,
        expected: set[tuple[str, str]]) -> None:
    anomalies = validate(tmp_path, spans, spans.base, skew={"colour": {"infinity_norm": threshold}})
    assert flagged(anomalies) == expected  # only skew_split is compared with serving data


def test_drift_stops_a_pipeline_with_both_spans_wired(tmp_path: Path) -> None:
    old = synthetic_examples(span=1, id="span_1")
    new = synthetic_examples(span=2, shift=3.0, colour_weights=[6.0, 1.0, 1.0], id="span_2")
    old_stats = StatisticsGen(examples=old.outputs.examples, id="stats_1")
    new_stats = StatisticsGen(examples=new.outputs.examples, id="stats_2")
    schema = SchemaGen(statistics=old_stats.outputs.statistics)
    check = ExampleValidator(statistics=new_stats.outputs.statistics,
                             schema=schema.outputs.schema,
                             baseline_statistics=old_stats.outputs.statistics,
                             drift={"size": {"jensen_shannon_divergence": 0.1}})
    after = downstream(statistics=new_stats.outputs.statistics).after(check)
    with pytest.raises(RunFailedError) as stopped:
        LocalRunner().run(Pipeline("drift", [old, new, old_stats, new_stats, schema, check,
                                             after], root=str(tmp_path)))
    assert stopped.value.stopped == ["example_validator"]
    message = str(stopped.value)
    assert "split 'train' feature 'size'" in message and "Jensen" in message


def test_thresholds_are_checked_where_the_validator_is_built(tmp_path: Path) -> None:
    stats = StatisticsGen(examples=synthetic_examples().outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    with pytest.raises(ArgumentError, match="drift thresholds are set but 'baseline_statistics'"):
        ExampleValidator(statistics=stats.outputs.statistics, schema=schema.outputs.schema,
                         drift={"size": {"jensen_shannon_divergence": 0.1}})
    with pytest.raises(ParameterTypeError, match="Did you mean 'infinity_norm'"):
        ExampleValidator(statistics=stats.outputs.statistics, schema=schema.outputs.schema,
                         serving_statistics=stats.outputs.statistics,
                         skew={"colour": {"infinity_nrom": 0.1}})


def test_a_threshold_on_an_unknown_feature_names_it(tmp_path: Path,
                                                    spans: Spans) -> None:
    with pytest.raises(DataError, match=r"feature 'colur'.*Did you mean 'colour'"):
        validate(tmp_path, spans, spans.drifted, drift={"colur": {"infinity_norm": 0.1}})


def test_stop_policy_raises_after_writing(tmp_path: Path, spans: Spans) -> None:
    anomalies = ExampleAnomalies(str(tmp_path / "anomalies"))
    with pytest.raises(StopRun, match="split 'train' feature 'colour'"):
        anomalies_executor.validate(
            statistics=spans.drifted, schema=spans.schema, anomalies=anomalies,
            baseline_statistics=spans.base, serving_statistics=None,
            drift={"colour": {"infinity_norm": 0.05}}, skew={}, skew_split="train",
            exclude_splits=["eval"], on_anomalies="stop", context=context(tmp_path))
    assert anomalies.split_names == ["train"]
    assert os.path.isfile(os.path.join(anomalies.uri, "Split-train", "SchemaDiff.pb"))


# ---- views ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunResult]:
    """A run stopped by a new category in the eval split."""
    pipeline, _ = penguin_pipeline(tmp_path_factory.mktemp("stopped"), new_species="Emperor")
    yield LocalRunner(raise_on_failure=False).run(pipeline)


def test_statistics_views_show_every_feature(clean_run: RunResult) -> None:
    uri = output_uri(clean_run, "statistics_gen", "statistics")
    text = views.render_text("ExampleStatistics", uri) or ""
    assert "split 'train': 229 examples, 8 features" in text
    assert all(name in text for name in PENGUIN_FEATURES)
    assert "Adelie (" in text and "missing" in text and "mean" in text
    page = views.render_html("ExampleStatistics", uri) or ""
    assert "<table" in page and "body_mass_g" in page and "facets-overview" in page
    schema_text = views.render_text("Schema", output_uri(clean_run, "schema_gen", "schema"))
    assert schema_text is not None and "species" in schema_text and "Adelie" in schema_text
    assert views.render_text("Model", uri) is None


def test_anomalies_views_list_split_feature_and_description(stopped_run: RunResult) -> None:
    uri = output_uri(stopped_run, "example_validator", "anomalies")
    text = views.render_text("ExampleAnomalies", uri) or ""
    assert text.splitlines()[0] == "1 anomaly in eval; none in train"
    row = next(line for line in text.splitlines() if "species" in line)
    assert "eval" in row and "ERROR" in row and "Emperor" in row
    page = views.render_html("ExampleAnomalies", uri) or ""
    assert "species" in page and "Emperor" in page and "<table" in page


def test_anomalies_view_of_clean_data(clean_run: RunResult) -> None:
    uri = output_uri(clean_run, "example_validator", "anomalies")
    assert views.render_text("ExampleAnomalies", uri) == "no anomalies in eval, train"


def test_conveyor_show_prints_statistics_and_anomalies(clean_run: RunResult,
                                                      stopped_run: RunResult) -> None:
    stats = clean_run["statistics_gen"].outputs["statistics"][0]
    shown = run_cli("show", str(stats.id), "--root", clean_run.root, check=True).stdout
    assert "split 'train': 229 examples, 8 features" in shown
    assert all(name in shown for name in PENGUIN_FEATURES)
    found = stopped_run["example_validator"].outputs["anomalies"][0]
    listed = run_cli("show", str(found.id), "--root", stopped_run.root, check=True).stdout
    assert "Emperor" in listed and "eval" in listed and "species" in listed


def test_interactive_show_renders_statistics(tmp_path: Path) -> None:
    pipeline, _ = penguin_pipeline(tmp_path / "nb")
    gen, stats = pipeline.nodes[:2]
    with InteractiveContext(pipeline_name="nb", pipeline_root=str(tmp_path / "nb_root")) as ctx:
        ctx.run(gen)
        ctx.run(stats)
        page = ctx.render_html(stats.outputs.statistics)
    assert "Statistics" in page and all(name in page for name in PENGUIN_FEATURES)
