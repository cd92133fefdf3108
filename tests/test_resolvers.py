"""Resolver nodes, evaluated in the launcher against real ML Metadata: the latest blessed model,
the latest artifact, span ranges and the previous span (with a real ExampleValidator measuring
drift against it), never cached, the same through Kubeflow tasks, and their definition errors."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, TESTS
from data_helpers import synthetic_examples
from fixture_components import add, produce, read_value
from resolver_components import judge, train

from conveyor import (
    Component,
    Input,
    LatestArtifact,
    LatestBlessedModel,
    LatestSpans,
    LocalRunner,
    Output,
    Parameter,
    Pipeline,
    PreviousSpan,
    Resolver,
    RunResult,
    RuntimeParameter,
    SpanRange,
)
from conveyor.artifacts import Examples, Model, Schema
from conveyor.cli import inspect_commands
from conveyor.components.validate import ExampleValidator, SchemaGen, StatisticsGen
from conveyor.dsl import Channel
from conveyor.errors import (
    ArgumentError,
    ArtifactTypeError,
    DefinitionError,
    MetadataError,
    ParameterTypeError,
)
from conveyor.ir import compile_pipeline
from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import CACHED, COMPLETE, FAILED
from conveyor.orchestrators.progress import format_summary
from conveyor.runtime.cache import explain
from conveyor.runtime.launcher import SKIPPED, Launcher
from conveyor.runtime.resolvers import ResolverQuery


class Collect(Component):
    """Records the spans of what each (optional) input resolved to."""

    latest: Channel[Examples] | None = Input(default=None)
    in_range: Channel[Examples] | None = Input(default=None, many=True)
    newest: Channel[Examples] | None = Input(default=None, many=True)
    newest_now: Channel[Examples] | None = Input(default=None, many=True)
    seen: Channel[Model] = Output()
    executor = "test_resolvers:collect"


def collect(latest: Examples | None, in_range: list[Examples], newest: list[Examples],
            newest_now: list[Examples], seen: Model) -> None:
    """Executor of :class:`Collect`."""
    spans = {"latest": None if latest is None else latest.span,
             "in_range": [a.span for a in in_range], "newest": [a.span for a in newest],
             "newest_now": [a.span for a in newest_now]}
    with open(os.path.join(seen.uri, "spans.json"), "w", encoding="utf-8") as f:
        json.dump(spans, f)


def blessing_pipeline(root: Path) -> Pipeline:
    """trainer(quality) -> evaluator, whose baseline is the latest blessed model."""
    trainer = train(quality=RuntimeParameter("quality", int, default=1), id="trainer")
    latest = LatestBlessedModel(model_from=trainer, blessing_from="evaluator")
    evaluator = judge(model=trainer.outputs.model, baseline=latest.outputs.model, id="evaluator")
    return Pipeline("blessing", [trainer, latest, evaluator], root=str(root))


def text(path: str, name: str) -> str:
    with open(os.path.join(path, name), encoding="utf-8") as f:
        return f.read()


def model_id(result: RunResult) -> int:
    return result["trainer"].outputs["model"][0].id


def baseline_seen(result: RunResult) -> str:
    return text(result["evaluator"].outputs["blessing"][0].uri, "baseline.txt")


# ---- LatestBlessedModel ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def blessing_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[RunResult]]:
    """Six runs of the blessing pipeline with qualities 5 (blessed), 1, 2, 4 (blessed), 1, 1."""
    root = tmp_path_factory.mktemp("blessing")
    pipeline = blessing_pipeline(root)
    runner = LocalRunner()
    return root, [runner.run(pipeline, parameters={"quality": q}) for q in (5, 1, 2, 4, 1, 1)]


def test_with_no_blessed_model_the_resolver_finds_nothing_and_downstream_gets_none(
        blessing_runs: tuple[Path, list[RunResult]]) -> None:
    first = blessing_runs[1][0]
    resolver = first["latest_blessed_model"]
    assert resolver.state == COMPLETE and resolver.outputs == {"model": [], "blessing": []}
    assert resolver.resolved is not None and resolver.resolved.startswith("nothing found")
    assert first["evaluator"].state == COMPLETE
    assert baseline_seen(first) == "none"
    [row] = [line for line in format_summary(first.nodes).splitlines()
             if line.startswith("latest_blessed_model")]
    assert row.split()[1] == "RESOLVED" and row.endswith(
        "nothing found: no live model of node 'trainer' of pipeline 'blessing' from an earlier "
        "run is blessed by node 'evaluator'")


def test_a_resumed_run_still_says_what_its_resolver_found(tmp_path: Path) -> None:
    pipeline = blessing_pipeline(tmp_path)
    first = LocalRunner().run(pipeline)
    found = first["latest_blessed_model"].resolved
    assert found is not None and found.startswith("nothing found")
    again = LocalRunner().run(pipeline, resume=first.run_id)
    resolver = again["latest_blessed_model"]
    assert resolver.resumed and resolver.resolved == found
    [row] = [line for line in format_summary(again.nodes).splitlines()
             if line.startswith("latest_blessed_model")]
    assert row.split()[1:3] == ["RESOLVED", "(earlier)"] and row.endswith(found)


def test_the_newest_blessed_model_of_an_earlier_run_is_resolved_never_a_newer_unblessed_one(
        blessing_runs: tuple[Path, list[RunResult]]) -> None:
    runs = blessing_runs[1]
    blessed_first, blessed_later = model_id(runs[0]), model_id(runs[3])
    resolved = [r["latest_blessed_model"].outputs["model"] for r in runs]
    assert [[a.id for a in arts] for arts in resolved] == [
        [], [blessed_first], [blessed_first], [blessed_first], [blessed_later], [blessed_later]]
    # Runs 2 and 3 made newer models that were not blessed: the resolver kept the blessed one.
    assert model_id(runs[1]) > blessed_first and model_id(runs[2]) > blessed_first
    assert [baseline_seen(r) for r in runs[1:5]] == [str(blessed_first)] * 3 + [
        str(blessed_later)]
    blessing = runs[1]["latest_blessed_model"].outputs["blessing"][0]
    assert blessing.custom_properties == {**blessing.custom_properties, "blessed": 1,
                                          "current_model_id": blessed_first}


def test_resolvers_are_never_cached_and_downstream_keys_hold_the_resolved_ids(
        blessing_runs: tuple[Path, list[RunResult]]) -> None:
    root, runs = blessing_runs
    assert {r["latest_blessed_model"].state for r in runs} == {COMPLETE}
    # Run 5 trains as run 2 did (cached), but its baseline is now the later blessed model.
    fifth, sixth = runs[4], runs[5]
    assert fifth["trainer"].state == CACHED and fifth["evaluator"].state == COMPLETE
    assert (sixth["trainer"].state, sixth["evaluator"].state) == (CACHED, CACHED)
    with connect(MetadataConfig.for_root(str(root))) as store:
        why = explain(store, "blessing", fifth.run_id, "evaluator")
        resolver = store.get_execution(int(sixth["latest_blessed_model"].execution_id or 0))
        resolver_why = explain(store, "blessing", fifth.run_id, "latest_blessed_model")
    assert any(r.startswith("input 'baseline' changed") for r in why.reasons), why.reasons
    assert resolver_why.verdict == "resolved (complete)"
    assert resolver_why.reasons[1].startswith(f"model {model_id(runs[3])} (made in run ")
    assert resolver.properties["resolver"] is True
    assert resolver.properties["cache_enabled"] is False and "cache_key" not in \
        resolver.properties


def test_conveyor_show_lists_what_a_resolver_found(
        blessing_runs: tuple[Path, list[RunResult]], capsys: pytest.CaptureFixture[str]) -> None:
    root, runs = blessing_runs
    for run in (runs[0], runs[1]):
        inspect_commands.show(argparse.Namespace(target=run.run_id, metadata=None,
                                                 root=str(root)))
    first, second = capsys.readouterr().out.split("pipeline 'blessing' run")[1:]
    assert "latest_blessed_model  RESOLVED" in first
    assert "resolved: nothing found: no live model of node 'trainer'" in first
    assert "latest_blessed_model  RESOLVED" in second
    assert f"out model: artifact {model_id(runs[0])} Model [LIVE]" in second


def test_outputs_of_this_run_are_seen_only_by_a_resolver_that_runs_after_their_node(
        tmp_path: Path) -> None:
    trainer = train(quality=5, id="trainer")
    evaluator = judge(model=trainer.outputs.model, id="evaluator")
    blind = LatestBlessedModel(model_from="trainer", blessing_from="evaluator", id="blind")
    waits = LatestBlessedModel(model_from="trainer", blessing_from="evaluator",
                               id="waits").after(trainer, evaluator)
    ir = compile_pipeline(Pipeline("order", [trainer, evaluator, blind, waits],
                                   root=str(tmp_path)))
    with connect(MetadataConfig.memory()) as store:
        store.ensure_run("order", "only-run", {})
        launcher = Launcher(ir, store, "only-run")
        made = launcher.launch("trainer").outputs["model"][0].id
        launcher.launch("evaluator")
        # Both resolvers run after the blessing exists; only the one waiting for it sees it.
        assert launcher.launch("blind").outputs["model"] == []
        assert [a.id for a in launcher.launch("waits").outputs["model"]] == [made]


def test_a_required_resolver_that_finds_nothing_fails_and_skips_downstream(
        tmp_path: Path) -> None:
    trainer = train(quality=1, id="trainer")
    latest = LatestBlessedModel(model_from=trainer, blessing_from="evaluator", required=True)
    evaluator = judge(model=trainer.outputs.model, baseline=latest.outputs.model, id="evaluator")
    result = LocalRunner(raise_on_failure=False).run(
        Pipeline("strict", [trainer, latest, evaluator], root=str(tmp_path)))
    assert (result["latest_blessed_model"].state, result["evaluator"].state) == (FAILED, SKIPPED)
    assert "node 'latest_blessed_model' was built with required=True, but found nothing: no " \
           "live model of node 'trainer'" in str(result["latest_blessed_model"].error)


def test_a_notebook_session_resolves_what_an_earlier_session_blessed(tmp_path: Path) -> None:
    from conveyor.orchestrators.notebook import InteractiveContext

    seen = []
    for quality in (5, 1):
        context = InteractiveContext(pipeline_name="nb", pipeline_root=str(tmp_path))
        trainer = train(quality=quality, id="trainer")
        latest = LatestBlessedModel(model_from=trainer, blessing_from="evaluator")
        evaluator = judge(model=trainer.outputs.model, baseline=latest.outputs.model,
                          id="evaluator")
        made = context.run(trainer).result.outputs["model"][0].id
        context.run(latest)  # a resolver runs alone: the nodes it names need not have run
        seen.append(text(context.run(evaluator).result.outputs["blessing"][0].uri,
                         "baseline.txt"))
        if quality == 5:
            first = made
    assert seen == ["none", str(first)]


SESSION = """
from fixture_components import produce
from resolver_components import judge, train
from conveyor import LatestArtifact, LatestBlessedModel, PreviousSpan
from conveyor.artifacts import Examples
from conveyor.orchestrators.notebook import InteractiveContext

context = InteractiveContext(pipeline_name="nb", pipeline_root={root!r})
trainer = train(quality=5, id="trainer")
latest = LatestBlessedModel(model_from=trainer, blessing_from="evaluator")
evaluator = judge(model=trainer.outputs.model, baseline=latest.outputs.model, id="evaluator")
first = produce(value=2, id="first")
newest = LatestArtifact(type=Examples, producer=first)
previous = PreviousSpan(current=first.outputs.out)
for node in (trainer, latest, evaluator, first, newest, previous):
    context.run(node)
context.export_to_pipeline({exported!r})
"""


def test_a_notebook_session_with_resolvers_exports_a_pipeline_that_compiles_alike(
        tmp_path: Path) -> None:
    from conveyor.dsl.loading import load_pipeline

    script, exported = tmp_path / "session.py", tmp_path / "exported.py"
    script.write_text(SESSION.format(root=str(tmp_path / "root"), exported=str(exported)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)])}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LatestArtifact(type='Examples', producer='first')" in exported.read_text()
    ir = compile_pipeline(load_pipeline(str(exported)))
    assert {n.id: (n.kind, n.outputs) for n in ir.nodes if n.kind == "resolver"} == {
        "latest_blessed_model": ("resolver", {"model": "Model", "blessing": "ModelBlessing"}),
        "latest_artifact": ("resolver", {"artifact": "Examples"}),
        "previous_span": ("resolver", {"out": "Examples"})}


class Broken(Resolver):
    """A resolver whose query fails (``fail``) or returns something else than a Resolution."""

    fail: bool = Parameter(default=True)
    found: Channel[Examples] = Output()
    executor = "test_resolvers:broken_query"


def broken_query(query: ResolverQuery, *, fail: bool, required: bool = False) -> object:
    """Query of :class:`Broken`."""
    if fail:
        raise MetadataError("the store is unreachable")
    return {"found": []}


@pytest.mark.parametrize("fail, error", [
    (True, "MetadataError: the store is unreachable"),
    (False, "ExecutionError: resolver 'test_resolvers:broken_query' returned dict, not a "
            "Resolution"),
])
def test_a_failing_resolver_query_is_a_failed_node(tmp_path: Path, fail: bool,
                                                   error: str) -> None:
    broken = Broken(fail=fail)
    result = LocalRunner(raise_on_failure=False).run(Pipeline("broken", [broken],
                                                              root=str(tmp_path)))
    assert (result["broken"].state, result["broken"].error) == (FAILED, error)
    with connect(MetadataConfig.for_root(str(tmp_path))) as store:
        [execution] = store.run_executions(result.run_id)
    assert (execution.state, execution.properties["error"]) == (FAILED, error)


# ---- LatestArtifact, SpanRange, LatestSpans --------------------------------------------------


@pytest.fixture(scope="module")
def span_runs(tmp_path_factory: pytest.TempPathFactory) -> list[RunResult]:
    """Runs over spans 1, 2, 3, 4 of one pipeline with every span resolver feeding a collector."""
    first = produce(value=RuntimeParameter("span", int, default=1), id="first")
    latest = LatestArtifact(type=Examples, producer=first)
    in_range = SpanRange(producer="first", start_span_number=2, end_span_number=3)
    newest = LatestSpans(producer=first, n=2)
    newest_now = LatestSpans(producer=first, n=2, id="latest_spans_now").after(first)
    sink = Collect(latest=latest.outputs.artifact, in_range=in_range.outputs.artifacts,
                   newest=newest.outputs.artifacts, newest_now=newest_now.outputs.artifacts)
    pipeline = Pipeline("spans", [first, latest, in_range, newest, newest_now, sink],
                        root=str(tmp_path_factory.mktemp("spans")))
    return [LocalRunner().run(pipeline, parameters={"span": s}) for s in (1, 2, 3, 4)]


def collected(result: RunResult) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(text(result["collect"].outputs["seen"][0].uri,
                                                "spans.json"))
    return loaded


def test_span_resolvers_on_the_first_run_see_only_what_they_wait_for(
        span_runs: list[RunResult]) -> None:
    assert collected(span_runs[0]) == {"latest": None, "in_range": [], "newest": [],
                                       "newest_now": [1]}


def test_latest_artifact_span_range_and_latest_spans_after_four_spans(
        span_runs: list[RunResult]) -> None:
    last = span_runs[3]
    assert collected(last) == {"latest": 3, "in_range": [2, 3], "newest": [2, 3],
                               "newest_now": [3, 4]}
    by_span = {r["first"].outputs["out"][0].properties["span"]: r["first"].outputs["out"][0].id
               for r in span_runs}
    assert [a.id for a in last["span_range"].outputs["artifacts"]] == [by_span[2], by_span[3]]
    assert [a.id for a in last["latest_artifact"].outputs["artifact"]] == [by_span[3]]
    assert read_value(last["latest_artifact"].outputs["artifact"][0].to_artifact()) == 3
    assert last["span_range"].resolved == (f"Examples of span(s) 2 (artifact {by_span[2]}), "
                                           f"3 (artifact {by_span[3]})")


# ---- PreviousSpan and ExampleValidator's drift ------------------------------------------------


@pytest.fixture(scope="module")
def drift_runs(tmp_path_factory: pytest.TempPathFactory) -> list[RunResult]:
    """Spans 1, 2 (drifted: ``size`` shifted by 3) and 3 through StatisticsGen -> SchemaGen ->
    ExampleValidator, whose baseline is the previous span's statistics found in metadata."""
    gen = synthetic_examples(span=RuntimeParameter("span", int, default=1), rows=600,
                             shift=RuntimeParameter("shift", float, default=0.0))
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    previous = PreviousSpan(current=stats.outputs.statistics)
    two_back = PreviousSpan(current=stats.outputs.statistics, offset=2, id="two_spans_back")
    check = ExampleValidator(statistics=stats.outputs.statistics, schema=schema.outputs.schema,
                             baseline_statistics=previous.outputs.statistics,
                             drift={"size": {"jensen_shannon_divergence": 0.1}},
                             on_anomalies="warn")
    pipeline = Pipeline("drift", [gen, stats, schema, previous, two_back, check],
                        root=str(tmp_path_factory.mktemp("drift")))
    runner = LocalRunner()
    return [runner.run(pipeline, parameters={"span": span, "shift": shift})
            for span, shift in ((1, 0.0), (2, 3.0), (3, 3.0))]


def statistics_id(result: RunResult) -> int:
    return result["statistics_gen"].outputs["statistics"][0].id


def test_first_span_has_no_previous_span_and_validates_without_drift(
        drift_runs: list[RunResult]) -> None:
    first = drift_runs[0]
    assert first["previous_span"].outputs == {"statistics": []}
    anomalies = first["example_validator"].outputs["anomalies"][0]
    assert anomalies.custom_properties["drift_measured"] == 0
    assert anomalies.custom_properties["anomaly_count"] == 0
    log = Path(str(first["example_validator"].log_path)).read_text()
    assert "no baseline statistics (e.g. no previous span yet): drift not measured" in log


def test_drift_is_measured_against_the_previous_spans_statistics_from_metadata(
        drift_runs: list[RunResult], open_store_of_drift: MetadataStore) -> None:
    first, second, third = drift_runs
    assert [a.id for a in second["previous_span"].outputs["statistics"]] == [
        statistics_id(first)]
    check = open_store_of_drift.execution_io(int(second["example_validator"].execution_id or 0))
    assert [a.id for a in check.inputs["baseline_statistics"]] == [statistics_id(first)]
    anomalies = second["example_validator"].outputs["anomalies"][0]
    assert anomalies.custom_properties["drift_measured"] == 1
    assert json.loads(str(anomalies.custom_properties["anomalies_per_split"])) == {
        "train": 1, "eval": 1}  # size's mean moved by 1.5 standard deviations: flagged
    # Span 3 is drawn like span 2: measured against span 2, no drift; two back is span 1.
    assert [a.id for a in third["previous_span"].outputs["statistics"]] == [
        statistics_id(second)]
    assert [a.id for a in third["two_spans_back"].outputs["statistics"]] == [
        statistics_id(first)]
    assert third["example_validator"].outputs["anomalies"][0].custom_properties[
        "anomaly_count"] == 0


@pytest.fixture
def open_store_of_drift(drift_runs: list[RunResult]) -> Iterator[MetadataStore]:
    with connect(MetadataConfig.for_root(drift_runs[0].root)) as store:
        yield store


# ---- Kubeflow and Airflow ---------------------------------------------------------------------


def test_kubeflow_tasks_resolve_the_blessed_model_as_the_local_runner_does(
        tmp_path: Path) -> None:
    from test_kubeflow import read_yaml, run_like_kfp

    from conveyor.orchestrators.kubeflow import compile_kubeflow

    out = tmp_path / "blessing.yaml"
    plan = compile_kubeflow(blessing_pipeline(tmp_path / "unused"), out,
                            pipeline_root=str(tmp_path / "kfp-root"))
    assert plan.ir.node("latest_blessed_model").kind == "resolver"
    spec, _ = read_yaml(out)
    assert not spec.root.dag.tasks["latest-blessed-model"].dependent_tasks  # no edge to trainer
    metadata = f"sqlite://{tmp_path / 'kfp.sqlite'}"
    for run, quality in (("uuid-1", 5), ("uuid-2", 1)):
        tasks = run_like_kfp(spec, run, {"quality": quality}, metadata, tmp_path / "pods")
        assert {n: p.returncode for n, p in tasks.items()} == dict.fromkeys(tasks, 0), \
            {n: p.stderr[-2000:] for n, p in tasks.items()}
    with connect(MetadataConfig.parse(metadata)) as store:
        def outputs(run: str, node: str) -> dict[str, list[int]]:
            [execution] = [e for e in store.run_executions(run) if e.node_id == node]
            io = store.execution_io(execution.id)
            return {k: [a.id for a in arts] for k, arts in io.outputs.items()}

        blessed = outputs("uuid-1", "trainer")["model"]
        assert outputs("uuid-1", "latest_blessed_model") == {}
        assert outputs("uuid-2", "latest_blessed_model")["model"] == blessed
        [judged] = [e for e in store.run_executions("uuid-2") if e.node_id == "evaluator"]
        assert [a.id for a in store.execution_io(judged.id).inputs["baseline"]] == blessed


def test_airflow_dag_of_a_pipeline_with_a_resolver_parses_with_its_task(tmp_path: Path) -> None:
    from conveyor.orchestrators.airflow import compile_airflow

    dag_file = tmp_path / "dags" / "blessing.py"
    compile_airflow(compile_pipeline(blessing_pipeline(tmp_path / "root")), str(dag_file))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CONVEYOR_"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               PYTHONWARNINGS="ignore", PYTHONPATH=os.pathsep.join([str(TESTS), str(REPO)]))
    code = ("import json\nfrom airflow.models.dagbag import DagBag\n"
            f"bag = DagBag(dag_folder={str(dag_file.parent)!r}, include_examples=False)\n"
            "dag = bag.dags['blessing']\n"
            "print(json.dumps({'errors': bag.import_errors, 'tasks': {t.task_id: "
            "sorted(t.upstream_task_ids) for t in dag.tasks}}))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert parsed == {"errors": {}, "tasks": {
        "trainer": [], "latest_blessed_model": [],
        "evaluator": ["latest_blessed_model", "trainer"]}}


# ---- definition errors ------------------------------------------------------------------------


def test_a_node_named_by_a_resolver_must_exist_and_output_the_type() -> None:
    trainer = train(id="trainer")
    evaluator = judge(model=trainer.outputs.model, id="evaluator")
    typo = LatestBlessedModel(model_from="trainr", blessing_from="evaluator")
    with pytest.raises(DefinitionError, match=r"pipeline 'p' node 'latest_blessed_model' field "
                                              r"'model_from': no node 'trainr' in the pipeline\. "
                                              r"Did you mean 'trainer'\?"):
        Pipeline("p", [trainer, evaluator, typo])
    swapped = LatestBlessedModel(model_from=trainer, blessing_from=trainer)
    with pytest.raises(ArtifactTypeError, match=r"field 'blessing_from': node 'trainer' has no "
                                                r"output of type ModelBlessing \(its outputs: "
                                                r"model \(Model\)\)"):
        Pipeline("p", [trainer, evaluator, swapped])
    chained = LatestArtifact(type=Model, producer="latest_blessed_model", id="chained")
    with pytest.raises(DefinitionError, match=r"field 'producer': node 'latest_blessed_model' "
                                              r"is a resolver, which makes no artifacts"):
        Pipeline("p", [trainer, evaluator,
                       LatestBlessedModel(model_from=trainer, blessing_from=evaluator), chained])
    # Another pipeline's nodes are not checked here.
    elsewhere = LatestArtifact(type=Model, producer="anything", pipeline="other")
    Pipeline("p", [trainer, elsewhere])


def test_a_resolver_named_by_its_component_follows_a_later_id_change() -> None:
    trainer = train()
    latest = LatestBlessedModel(model_from=trainer, blessing_from="evaluator")
    evaluator = judge(model=trainer.outputs.model, id="evaluator")
    trainer.with_id("fit")
    Pipeline("p", [trainer, latest, evaluator])
    assert latest.parameters["model_from"] == "fit"
    assert latest not in Pipeline.dependencies(evaluator) and not Pipeline.dependencies(latest)


def test_what_consumes_a_resolver_must_accept_nothing_or_a_list() -> None:
    first = produce(id="first")
    latest = LatestArtifact(type=Examples, producer=first)
    needs_one = add(inp=latest.outputs.artifact)
    with pytest.raises(DefinitionError, match=r"pipeline 'p' node 'add' field 'inp' takes "
                                              r"'artifact' of resolver 'latest_artifact', which "
                                              r"may find nothing; declare the input optional"):
        Pipeline("p", [first, latest, needs_one])
    sure = LatestArtifact(type=Examples, producer=first, required=True, id="sure")
    Pipeline("p", [first, sure, add(inp=sure.outputs.artifact)])
    spans = SpanRange(producer=first, start_span_number=1)
    with pytest.raises(DefinitionError, match=r"node 'collect' field 'latest' takes 'artifacts' "
                                              r"of resolver 'span_range', a list of artifacts; "
                                              r"declare the input Input\(many=True\)"):
        Pipeline("p", [first, spans, Collect(latest=spans.outputs.artifacts)])


def test_resolver_arguments_are_checked_when_built() -> None:
    first = produce(id="first")
    with pytest.raises(DefinitionError, match="never cached"):
        LatestArtifact(type=Examples).with_cache(True)
    with pytest.raises(ParameterTypeError, match=r"LatestArtifact\(type=\.\.\.\) expects an "
                                                 r"artifact class"):
        LatestArtifact(type=int)  # type: ignore[arg-type]
    with pytest.raises(ArtifactTypeError, match="the type has no 'span' property"):
        SpanRange(producer=first, type=Schema)
    with pytest.raises(ArgumentError, match="end_span_number 1 is before start_span_number 2"):
        SpanRange(producer=first, start_span_number=2, end_span_number=1)
    with pytest.raises(ArgumentError, match="offset must be at least 1"):
        PreviousSpan(current=first.outputs.out, offset=0)
    with pytest.raises(ArtifactTypeError, match=r"PreviousSpan\.current expects a channel"):
        PreviousSpan(current="statistics_gen")  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match=r"LatestArtifact\(type='Exampels'\): no "
                                                 r"artifact type of that name\. Did you mean "
                                                 r"'Examples'\?"):
        LatestArtifact(type="Exampels")
    typed = LatestArtifact(type=Examples, producer=first)
    assert type(LatestArtifact(type="Examples")) is type(typed)
    assert type(typed).SPEC.outputs["artifact"].type is Examples
    assert type(typed).declared_class() is LatestArtifact
    assert type(typed).__name__ == "LatestArtifact" and isinstance(typed, LatestArtifact)
    assert typed.id == "latest_artifact" and not typed.enable_cache


# ---- the store's queries, on the fake database and on SQLite ----------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    config = (MetadataConfig.memory() if request.param == "memory"
              else MetadataConfig.sqlite(str(tmp_path / "metadata.sqlite")))
    with connect(config) as opened:
        for run in ("run-1", "run-2"):
            opened.ensure_run("p", run, {})
        yield opened


def made(store: MetadataStore, run: str, uri: str, span: int) -> int:
    execution = store.start_execution(pipeline="p", run_id=run, node_id="gen",
                                      execution_type="tests.gen", properties={}, inputs={})
    artifact = Examples(uri, properties={"span": span})
    store.add_pending_outputs(execution, {"out": [artifact]})
    store.publish_execution(execution, {"out": [artifact]}, {})
    assert artifact.id is not None
    return artifact.id


def test_find_artifacts_newest_first_with_a_limit(store: MetadataStore) -> None:
    ids = [made(store, "run-1", f"/data/{i}", i) for i in range(4)]
    assert [a.id for a in store.find_artifacts(type_name="Examples", pipeline="p",
                                               node_id="gen")] == ids
    newest = store.find_artifacts(type_name="Examples", pipeline="p", node_id="gen",
                                  newest_first=True, limit=2)
    assert [a.id for a in newest] == ids[::-1][:2]


def test_original_producers_ignore_cached_and_resolver_reuse(store: MetadataStore) -> None:
    artifact = made(store, "run-1", "/data/a", 1)
    [maker] = store.node_executions("p", "gen", "run-1")
    reused = store.record_cached_execution(pipeline="p", run_id="run-2", node_id="gen",
                                           execution_type="tests.gen", properties={},
                                           inputs={}, outputs={"out": [artifact]})
    resolved = store.record_resolved_execution(
        pipeline="p", run_id="run-2", node_id="latest", execution_type="tests.latest",
        properties={"resolver": True, "resolved": "found it"}, inputs={},
        outputs={"artifact": [artifact]})
    assert {k: v.id for k, v in store.original_producers([artifact]).items()} == {
        artifact: maker.id}
    assert store.get_execution(resolved).state == COMPLETE
    assert store.get_execution(reused).state == CACHED
    assert [a.id for a in store.execution_io(resolved).outputs["artifact"]] == [artifact]
    upstream = store.lineage(artifact, "upstream", 2)
    assert {e.id for e in upstream.producers(artifact)} == {maker.id, reused, resolved}
    rows = [r.execution.id for r in upstream.tree(artifact, "upstream") if r.execution]
    assert rows == [maker.id]  # the tree names the execution that made it
    assert store.original_producers([]) == {}


def test_one_artifact_under_two_input_keys_is_one_event_listed_under_both(
        store: MetadataStore) -> None:
    # A resolver may hand a node the artifact another input already takes (here, the same
    # span through two resolvers); ML Metadata allows one event per artifact and execution.
    artifact = made(store, "run-1", "/data/a", 1)
    execution = store.start_execution(pipeline="p", run_id="run-1", node_id="both",
                                      execution_type="tests.both", properties={},
                                      inputs={"latest": [artifact], "newest": [artifact]})
    io = store.execution_io(execution)
    assert {k: [a.id for a in arts] for k, arts in io.inputs.items()} == {
        "latest": [artifact], "newest": [artifact]}
    downstream = store.lineage(artifact, "downstream", 1)
    assert {e.key for e in downstream.events if e.kind == "INPUT"} == {"latest", "newest"}


def test_find_made_artifacts_pages_newest_first_and_names_each_maker(
        store: MetadataStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import conveyor.metadata.mlmd.store as mlmd

    monkeypatch.setattr(mlmd, "_PAGE", 3)  # several pages from a few artifacts
    ids = [made(store, "run-1", f"/data/{i}", i) for i in range(7)]
    # Another node reusing (cached) and a resolver re-outputting an artifact do not make it.
    for node, record in (("copy", store.record_cached_execution),
                         ("latest", store.record_resolved_execution)):
        record(pipeline="p", run_id="run-2", node_id=node, execution_type=f"tests.{node}",
               properties={}, inputs={}, outputs={"out": [ids[0]]})
    found = store.find_made_artifacts(type_name="Examples", pipeline="p", node_id="gen")
    assert [a.id for a, _ in found] == ids[::-1]
    assert {(e.node_id, e.run_id) for _, e in found} == {("gen", "run-1")}
    page = store.find_made_artifacts(type_name="Examples", pipeline="p", node_id="gen",
                                     limit=2, before_id=ids[4])
    assert [a.id for a, _ in page] == [ids[3], ids[2]]
    assert store.find_made_artifacts(type_name="Examples", pipeline="p", node_id="copy") == []
    assert [a.id for a, _ in store.find_made_artifacts(
        type_name="Examples", pipeline="p", newest_first=False)] == ids
    assert store.find_made_artifacts(type_name="Model", pipeline="p", node_id="gen") == []
    assert store.find_made_artifacts(type_name="Examples", pipeline="q") == []
