"""The launcher through the LocalRunner, in process, on a real SQLite ML Metadata store."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fixture_components import (
    Repeat,
    UserModuleStep,
    add,
    announce,
    gate,
    ingest,
    produce,
    read_value,
    record_beam_args,
)

from conveyor import LocalRunner, Pipeline, RuntimeParameter
from conveyor.errors import ExecutionError, RunFailedError
from conveyor.metadata import MetadataStore
from conveyor.metadata.records import CACHED, COMPLETE, FAILED
from conveyor.orchestrators.progress import NullProgress, format_summary
from conveyor.runtime.cache import explain
from conveyor.runtime.launcher import SKIPPED, NodeResult
from conveyor.runtime.publish import STAGING_PREFIX


def chain(root: Path, *, value: int = 1, amount: int = 10, require: str = "") -> Pipeline:
    """first -> second -> third."""
    first = produce(value=value, id="first")
    second = add(inp=first.outputs.out, amount=amount, require=require, id="second")
    third = add(inp=second.outputs.out, amount=100, id="third")
    return Pipeline("chain", [first, second, third], root=str(root))


def states(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.node_id: r.state for r in result.nodes}


def output_ids(result) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {r.node_id: r.outputs["out"][0].id for r in result.nodes if "out" in r.outputs}


def test_outputs_are_live_with_properties_and_values(root: Path,
                                                     open_store: MetadataStore) -> None:
    result = LocalRunner().run(chain(root, value=2))
    assert states(result) == {"first": COMPLETE, "second": COMPLETE, "third": COMPLETE}
    third = result["third"].outputs["out"][0]
    assert third.state == "LIVE"
    assert read_value(third.to_artifact()) == 112
    first = open_store.get_artifact(result["first"].outputs["out"][0].id)
    assert first.properties["span"] == 2
    assert first.to_artifact().split_names == ["train", "eval"]
    assert os.path.realpath(third.uri).startswith(os.path.realpath(root))


def test_second_run_reuses_every_node(root: Path, open_store: MetadataStore) -> None:
    first_run = LocalRunner().run(chain(root))
    second_run = LocalRunner().run(chain(root))
    assert set(states(second_run).values()) == {CACHED}
    assert output_ids(second_run) == output_ids(first_run)
    assert second_run.run_id != first_run.run_id
    why = explain(open_store, "chain", second_run.run_id, "second")
    assert why.verdict == "reused from cache"
    assert str(first_run["second"].execution_id) in why.reasons[0]


def test_parameter_change_reruns_the_node_and_downstream_only(root: Path,
                                                              open_store: MetadataStore) -> None:
    LocalRunner().run(chain(root, amount=10))
    result = LocalRunner().run(chain(root, amount=20))
    assert states(result) == {"first": CACHED, "second": COMPLETE, "third": COMPLETE}
    assert read_value(result["third"].outputs["out"][0].to_artifact()) == 121
    second = explain(open_store, "chain", result.run_id, "second")
    assert "parameter 'amount' changed: 10 -> 20" in second.reasons
    third = explain(open_store, "chain", result.run_id, "third")
    assert any("input 'inp' changed" in r and "content changed" in r for r in third.reasons)


def test_upstream_output_change_invalidates_downstream(root: Path,
                                                       open_store: MetadataStore) -> None:
    LocalRunner().run(chain(root, value=1))
    result = LocalRunner().run(chain(root, value=5))
    assert set(states(result).values()) == {COMPLETE}
    assert read_value(result["third"].outputs["out"][0].to_artifact()) == 115


def test_module_file_change_reruns(root: Path, tmp_path: Path,
                                   open_store: MetadataStore) -> None:
    module = tmp_path / "user_module.py"
    module.write_text("def transform(v):\n    return v * 2\n")

    def build() -> Pipeline:
        first = produce(value=3, id="first")
        step = UserModuleStep(examples=first.outputs.out, module_file=str(module))
        return Pipeline("modules", [first, step], root=str(root))

    assert read_value(LocalRunner().run(build())["user_module_step"].outputs["result"][0]
                      .to_artifact()) == 6
    assert states(LocalRunner().run(build()))["user_module_step"] == CACHED
    module.write_text("def transform(v):\n    return v * 3\n")
    result = LocalRunner().run(build())
    assert states(result) == {"first": CACHED, "user_module_step": COMPLETE}
    assert read_value(result["user_module_step"].outputs["result"][0].to_artifact()) == 9
    why = explain(open_store, "modules", result.run_id, "user_module_step")
    assert any(r.startswith("module file 'module_file' changed") for r in why.reasons)


def test_input_file_content_change_reruns(root: Path, tmp_path: Path,
                                          open_store: MetadataStore) -> None:
    data = tmp_path / "data.txt"
    data.write_text("7")

    def build() -> Pipeline:
        return Pipeline("files", [ingest(source=str(data))], root=str(root))

    LocalRunner().run(build())
    assert states(LocalRunner().run(build())) == {"ingest": CACHED}
    data.write_text("8")
    result = LocalRunner().run(build())
    assert states(result) == {"ingest": COMPLETE}
    assert read_value(result["ingest"].outputs["out"][0].to_artifact()) == 8
    why = explain(open_store, "files", result.run_id, "ingest")
    assert any("external input 'source' changed" in r for r in why.reasons)


def test_failing_executor_publishes_nothing_and_keeps_earlier_outputs(
        root: Path, tmp_path: Path, open_store: MetadataStore) -> None:
    good = LocalRunner().run(chain(root, amount=1))
    earlier = good["second"].outputs["out"][0]
    with pytest.raises(RunFailedError) as failure:
        LocalRunner().run(chain(root, amount=2, require=str(tmp_path / "missing")))
    result_run = failure.value.run_id
    assert failure.value.failed == ["second"]
    message = str(failure.value)
    assert "second" in message and "RuntimeError: required file" in message and "log:" in message
    executions = {e.node_id: e for e in open_store.run_executions(result_run)}
    assert executions["second"].state == FAILED
    assert "required file" in executions["second"].properties["error"]
    assert "third" not in executions  # skipped: never started
    failed_outputs = open_store.execution_io(executions["second"].id).outputs["out"]
    assert [a.state for a in failed_outputs] == ["ABANDONED"]
    assert not os.path.exists(failed_outputs[0].uri)
    node_dir = root / "chain" / "second" / "out"
    assert not [p for p in os.listdir(node_dir) if p.startswith(STAGING_PREFIX)]
    assert open_store.get_artifact(earlier.id).state == "LIVE"
    assert read_value(earlier.to_artifact()) == 2
    log = Path(executions["second"].properties["log_path"]).read_text()
    assert "Traceback" in log and "required file" in log


def test_failure_skips_downstream_and_returns_result_when_not_raising(
        root: Path, tmp_path: Path) -> None:
    result = LocalRunner(raise_on_failure=False).run(
        chain(root, require=str(tmp_path / "missing")))
    assert states(result) == {"first": COMPLETE, "second": FAILED, "third": SKIPPED}
    assert result["third"].error == "upstream 'second' failed"
    assert not result.succeeded


def test_resume_reruns_only_failed_and_unrun_nodes(root: Path, tmp_path: Path,
                                                   open_store: MetadataStore) -> None:
    flag = tmp_path / "flag"
    side = produce(value=50, id="side")
    first = produce(value=1, id="first")
    second = add(inp=first.outputs.out, amount=1, require=str(flag), id="second")
    third = add(inp=second.outputs.out, amount=1, id="third")
    pipeline = Pipeline("resume", [first, second, third, side], root=str(root))
    failed = LocalRunner(raise_on_failure=False).run(pipeline)
    assert states(failed) == {"first": COMPLETE, "second": FAILED, "third": SKIPPED,
                              "side": COMPLETE}
    flag.write_text("fixed")
    resumed = LocalRunner().run(pipeline, resume=failed.run_id)
    assert resumed.run_id == failed.run_id
    assert states(resumed) == {"first": COMPLETE, "second": COMPLETE, "third": COMPLETE,
                               "side": COMPLETE}
    assert [r.node_id for r in resumed.nodes if r.resumed] == ["first", "side"]
    assert resumed["first"].execution_id == failed["first"].execution_id
    assert read_value(resumed["third"].outputs["out"][0].to_artifact()) == 3
    history = [(e.node_id, e.state) for e in open_store.run_executions(failed.run_id)]
    assert history.count(("second", FAILED)) == 1 and history.count(("second", COMPLETE)) == 1
    assert history.count(("first", COMPLETE)) == 1


def test_resume_of_unknown_run_is_a_clear_error(root: Path) -> None:
    LocalRunner().run(chain(root))
    with pytest.raises(Exception, match="run 'nope' not found"):
        LocalRunner().run(chain(root), resume="nope")


def _intervals(trace: Path) -> tuple[float, float]:
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    return events[0]["t"], events[1]["t"]


@pytest.mark.parametrize("workers, overlap", [(2, True), (1, False)])
def test_independent_nodes_run_concurrently(root: Path, tmp_path: Path, workers: int,
                                            overlap: bool) -> None:
    traces = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    nodes = [produce(value=i, sleep_s=0.6, trace=str(t), id=f"sleep{i}")
             for i, t in enumerate(traces)]
    LocalRunner(max_workers=workers).run(Pipeline("parallel", nodes, root=str(root)))
    (a_start, a_end), (b_start, b_end) = (_intervals(t) for t in traces)
    overlapped = a_start < b_end and b_start < a_end
    assert overlapped is overlap


def test_runtime_parameters_are_set_per_run(root: Path) -> None:
    amount = RuntimeParameter("amount", int, default=5)
    first = produce(value=1, id="first")
    second = add(inp=first.outputs.out, amount=amount, id="second")
    pipeline = Pipeline("params", [first, second], root=str(root))
    assert read_value(LocalRunner().run(pipeline)["second"].outputs["out"][0]
                      .to_artifact()) == 6
    result = LocalRunner().run(pipeline, parameters={"amount": "40"})
    assert read_value(result["second"].outputs["out"][0].to_artifact()) == 41
    with pytest.raises(ExecutionError,
                       match=r"has no runtime parameter 'amuont'\. Did you mean 'amount'\?"):
        LocalRunner().run(pipeline, parameters={"amuont": 1})
    with pytest.raises(ExecutionError, match="expects int, got 'many'"):
        LocalRunner().run(pipeline, parameters={"amount": "many"})


def test_a_runtime_value_below_a_fields_minimum_is_refused_before_any_node_runs(
        root: Path, open_store: MetadataStore) -> None:
    times = RuntimeParameter("times", int, default=2)
    first = produce(value=3, id="first")
    second = Repeat(inp=first.outputs.out, times=times, id="second")
    pipeline = Pipeline("bounded", [first, second], root=str(root))
    with pytest.raises(ExecutionError, match=r"^pipeline 'bounded' node 'second' field 'times': "
                       r"runtime parameter 'times' must be >= 1, got 0; give it a value >= 1$"):
        LocalRunner().run(pipeline, parameters={"times": "0"})
    assert open_store.list_runs("bounded") == []
    result = LocalRunner().run(pipeline, parameters={"times": "1"})
    assert read_value(result["second"].outputs["out"][0].to_artifact()) == 3


class InterruptAfterFirstNode(NullProgress):
    """Raises KeyboardInterrupt, as Ctrl-C would, when the first node has finished."""

    def node_finished(self, result: NodeResult) -> None:
        raise KeyboardInterrupt


def test_an_interrupted_run_lets_running_nodes_finish_and_starts_no_queued_one(
        root: Path, open_store: MetadataStore) -> None:
    # One worker, three independent nodes: when the first ends, the second is running and the
    # third waits in the pool's queue.
    nodes = [produce(value=i, sleep_s=0.5, id=f"n{i}") for i in range(3)]
    runner = LocalRunner(max_workers=1, progress=InterruptAfterFirstNode())
    with pytest.raises(KeyboardInterrupt):
        runner.run(Pipeline("interrupted", nodes, root=str(root)))
    assert runner.run_id is not None
    recorded = {e.node_id: e.state for e in open_store.run_executions(runner.run_id)}
    assert recorded == {"n0": COMPLETE, "n1": COMPLETE}


def test_cache_can_be_disabled(root: Path) -> None:
    LocalRunner().run(chain(root))
    assert set(states(LocalRunner(enable_cache=False).run(chain(root))).values()) == {COMPLETE}


def test_a_node_can_publish_and_stop_the_run(root: Path, open_store: MetadataStore) -> None:
    def build(stop: bool) -> Pipeline:
        first = produce(value=4, id="first")
        check = gate(inp=first.outputs.out, stop=stop, id="check")
        after = add(inp=first.outputs.out, amount=1, id="after").after(check)
        return Pipeline("gated", [first, check, after], root=str(root))

    with pytest.raises(RunFailedError) as stopped:
        LocalRunner().run(build(stop=True))
    assert stopped.value.stopped == ["check"] and stopped.value.failed == []
    assert "node 'check' stopped the run: value 4 did not pass the gate" in str(stopped.value)
    executions = {e.node_id: e for e in open_store.run_executions(stopped.value.run_id)}
    assert executions["check"].state == COMPLETE
    assert executions["check"].properties["stop_reason"] == "value 4 did not pass the gate"
    assert "after" not in executions
    verdict = open_store.execution_io(executions["check"].id).outputs["verdict"][0]
    assert verdict.state == "LIVE" and read_value(verdict.to_artifact()) == 4

    again = LocalRunner(raise_on_failure=False).run(build(stop=True))
    assert states(again) == {"first": CACHED, "check": CACHED, "after": SKIPPED}
    assert again["check"].stop_reason == "value 4 did not pass the gate"
    assert again["after"].error == "upstream 'check' stopped the run"
    assert not again.succeeded and again.stopped == ["check"]

    passed = LocalRunner().run(build(stop=False))
    assert states(passed) == {"first": CACHED, "check": COMPLETE, "after": COMPLETE}


def test_beam_options_given_at_run_time_follow_the_pipeline_options(root: Path) -> None:
    pipeline = Pipeline("beam", [record_beam_args()], root=str(root),
                        beam_args=["--direct_num_workers=1"])
    result = LocalRunner(enable_cache=False, beam_args=["--direct_num_workers=2"]).run(pipeline)
    written = Path(result["record_beam_args"].outputs["out"][0].uri, "beam_args.json")
    assert json.loads(written.read_text()) == ["--direct_num_workers=1", "--direct_num_workers=2"]


def test_one_node_can_opt_out_of_the_cache(root: Path, open_store: MetadataStore) -> None:
    def build() -> Pipeline:
        first = produce(value=2, id="first")
        second = add(inp=first.outputs.out, amount=1, id="second").with_cache(False)
        return Pipeline("optout", [first, second], root=str(root))

    LocalRunner().run(build())
    again = LocalRunner().run(build())
    assert states(again) == {"first": CACHED, "second": COMPLETE}
    why = explain(open_store, "optout", again.run_id, "second")
    assert why.reasons == ["caching was disabled for this run/node"]


def test_summary_lists_an_outputs_one_line_summary_fresh_and_cached(root: Path) -> None:
    pipeline = Pipeline("summarised", [announce(note="three rows")], root=str(root))
    fresh = LocalRunner().run(pipeline)
    again = LocalRunner().run(pipeline)
    for result in (fresh, again):
        lines = format_summary(result.nodes).splitlines()
        [at] = [i for i, line in enumerate(lines) if "out: " in line]
        assert lines[at + 1].strip() == "wrote three rows"
        # The id to give `conveyor show`, for the artifact the node made or reused.
        [artifact] = result["announce"].outputs["out"]
        assert lines[at].endswith(f"{artifact.uri}  (artifact {artifact.id})")
