"""The metadata store on the real ML Metadata: its in-memory fake database and SQLite files."""
from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from conveyor.artifacts import Artifact, Examples, Model, ModelBlessing, ModelEvaluation, Schema
from conveyor.cli.inspect_commands import format_lineage
from conveyor.errors import MetadataError, NotFoundError
from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.writer_lock import WriterLock

PIPELINE = "penguin"


class Measured(Artifact):
    """A test type with one property of every kind."""

    TYPE_NAME = "ConveyorTestMeasured"
    PROPERTIES: ClassVar[Mapping[str, type]] = {
        "count": int, "score": float, "label": str, "tags": list,
    }


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    config = (MetadataConfig.memory() if request.param == "memory"
              else MetadataConfig.sqlite(str(tmp_path / "md" / "metadata.sqlite")))
    with connect(config) as opened:
        opened.ensure_run(PIPELINE, "run-1", {})
        yield opened


def start(store: MetadataStore, node_id: str, *, run_id: str = "run-1",
          inputs: Mapping[str, Sequence[int]] | None = None, cache_key: str = "key") -> int:
    return store.start_execution(
        pipeline=PIPELINE, run_id=run_id, node_id=node_id,
        execution_type=f"tests.{node_id}", properties={"cache_key": cache_key},
        inputs=inputs or {},
    )


def run_node(store: MetadataStore, node_id: str, outputs: Mapping[str, Sequence[Artifact]], *,
             run_id: str = "run-1", inputs: Mapping[str, Sequence[int]] | None = None,
             cache_key: str = "key") -> int:
    """Start, add pending outputs and publish: one successful execution."""
    execution_id = start(store, node_id, run_id=run_id, inputs=inputs, cache_key=cache_key)
    store.add_pending_outputs(execution_id, outputs)
    store.publish_execution(execution_id, outputs, {"duration_s": 0.5})
    return execution_id


def examples(uri: str = "/data/examples") -> Examples:
    return Examples(uri, properties={"span": 3, "version": 1, "split_names": ["train", "eval"]})


def mark_deleted(store: MetadataStore, artifact_id: int) -> None:
    # The store has no delete operation yet; a garbage collector would do this in ML Metadata.
    mlmd = store._mlmd  # type: ignore[attr-defined]
    [artifact] = mlmd.get_artifacts_by_id([artifact_id])
    artifact.state = type(artifact).State.Value("DELETED")
    mlmd.put_artifacts([artifact])


# ---- runs ------------------------------------------------------------------------------------


def test_ensure_run_is_idempotent(store: MetadataStore) -> None:
    first = store.ensure_run(PIPELINE, "run-2", {"ir_path": "/ir.json"})
    again = store.ensure_run(PIPELINE, "run-2", {"ir_path": "/ir.json"})

    assert again == first
    assert [r.run_id for r in store.list_runs(PIPELINE)].count("run-2") == 1


def test_runs_are_listed_under_their_pipeline_newest_first(store: MetadataStore) -> None:
    store.ensure_run(PIPELINE, "run-2", {})
    store.ensure_run("other", "run-3", {})

    assert [r.run_id for r in store.list_runs(PIPELINE)] == ["run-2", "run-1"]
    assert [r.run_id for r in store.list_runs()] == ["run-3", "run-2", "run-1"]
    assert store.list_runs("nonexistent") == []
    assert store.list_pipelines() == ["other", PIPELINE]


def test_ensure_run_merges_properties_when_resumed(store: MetadataStore) -> None:
    store.ensure_run(PIPELINE, "run-2", {"ir_path": "/ir.json", "parameters": "{}"})
    store.ensure_run(PIPELINE, "run-2", {"parameters": '{"lr": 0.1}'})

    run = store.get_run("run-2")
    assert run.pipeline == PIPELINE
    assert run.properties == {"ir_path": "/ir.json", "parameters": '{"lr": 0.1}'}
    assert run.create_time_ms > 0


def test_run_id_of_another_pipeline_is_refused(store: MetadataStore) -> None:
    with pytest.raises(MetadataError, match="belongs to pipeline 'penguin'"):
        store.ensure_run("other", "run-1", {})


# ---- writing executions ------------------------------------------------------------------------


def test_pending_outputs_get_ids_and_are_pending_until_published(store: MetadataStore) -> None:
    execution_id = start(store, "gen")
    output = examples()
    store.add_pending_outputs(execution_id, {"examples": [output]})

    assert output.id is not None
    assert store.get_artifact(output.id).state == "PENDING"
    assert store.get_execution(execution_id).state == "RUNNING"

    store.publish_execution(execution_id, {"examples": [output]}, {"duration_s": 1.5})

    assert store.get_artifact(output.id).state == "LIVE"
    assert output.state == "LIVE"
    execution = store.get_execution(execution_id)
    assert execution.state == "COMPLETE"
    assert execution.properties == {"cache_key": "key", "duration_s": 1.5}


def test_publish_stores_final_uri_and_properties(store: MetadataStore) -> None:
    execution_id = start(store, "gen")
    output = Examples("/tmp/staging")
    store.add_pending_outputs(execution_id, {"examples": [output]})
    output.uri = "/data/examples/1"
    output.span = 7
    output.split_names = ["train", "eval"]
    output.custom_properties = {"rows": 344, "source": "penguins.csv", "ratio": 0.8,
                                "shuffled": True}
    store.publish_execution(execution_id, {"examples": [output]}, {})

    assert output.id is not None
    record = store.get_artifact(output.id)
    assert record.uri == "/data/examples/1"
    assert record.properties == {"span": 7, "split_names": ["train", "eval"]}
    assert record.custom_properties == {"rows": 344, "source": "penguins.csv", "ratio": 0.8,
                                        "shuffled": True}
    restored = record.to_artifact()
    assert isinstance(restored, Examples)
    assert restored.split_names == ["train", "eval"]


def test_every_property_kind_round_trips(store: MetadataStore) -> None:
    measured = Measured("/m", properties={"count": 3, "score": 0.25, "label": "x",
                                          "tags": ["a", "b"]})
    run_node(store, "measure", {"out": [measured]})

    assert measured.id is not None
    record = store.get_artifact(measured.id)
    assert record.type_name == "ConveyorTestMeasured"
    assert record.properties == {"count": 3, "score": 0.25, "label": "x", "tags": ["a", "b"]}
    assert [type(record.properties[k]) for k in ("count", "score", "label", "tags")] == \
        [int, float, str, list]


def test_execution_properties_keep_their_python_types(store: MetadataStore) -> None:
    execution_id = store.start_execution(
        pipeline=PIPELINE, run_id="run-1", node_id="gen", execution_type="tests.gen",
        properties={"executor": "m:f", "pid": 42, "duration_s": 0.5, "resumed": False},
        inputs={},
    )

    execution = store.get_execution(execution_id)
    assert execution.properties == {"executor": "m:f", "pid": 42, "duration_s": 0.5,
                                    "resumed": False}
    assert type(execution.properties["resumed"]) is bool
    assert (execution.pipeline, execution.run_id, execution.node_id, execution.type_name) == \
        (PIPELINE, "run-1", "gen", "tests.gen")


def test_unsupported_property_value_is_refused(store: MetadataStore) -> None:
    with pytest.raises(MetadataError, match="'cache_inputs' is dict"):
        store.start_execution(pipeline=PIPELINE, run_id="run-1", node_id="gen",
                              execution_type="tests.gen", properties={"cache_inputs": {}},
                              inputs={})


def test_fail_execution_abandons_pending_outputs(store: MetadataStore) -> None:
    execution_id = start(store, "train")
    model = Model("/tmp/model")
    store.add_pending_outputs(execution_id, {"model": [model]})

    store.fail_execution(execution_id, "ValueError: bad", {"log_path": "/logs/train.log"})

    execution = store.get_execution(execution_id)
    assert execution.state == "FAILED"
    assert execution.properties["error"] == "ValueError: bad"
    assert execution.properties["log_path"] == "/logs/train.log"
    assert model.id is not None
    assert store.get_artifact(model.id).state == "ABANDONED"
    assert store.find_artifacts(state="LIVE") == []


def test_record_cached_execution_reuses_the_same_artifacts(store: MetadataStore) -> None:
    data = examples()
    run_node(store, "gen", {"examples": [data]})
    schema = Schema("/schema")
    assert data.id is not None
    run_node(store, "schema", {"schema": [schema]}, inputs={"examples": [data.id]})
    assert schema.id is not None
    store.ensure_run(PIPELINE, "run-2", {})

    cached_id = store.record_cached_execution(
        pipeline=PIPELINE, run_id="run-2", node_id="schema", execution_type="tests.schema",
        properties={"cache_key": "key", "cached_from": 2},
        inputs={"examples": [data.id]}, outputs={"schema": [schema.id]},
    )

    cached = store.get_execution(cached_id)
    assert (cached.state, cached.run_id) == ("CACHED", "run-2")
    io = store.execution_io(cached_id)
    assert [a.id for a in io.outputs["schema"]] == [schema.id]
    assert [a.id for a in io.inputs["examples"]] == [data.id]
    assert [a.id for a in store.find_artifacts(run_id="run-2")] == [schema.id]


def test_unknown_input_artifact_is_not_recorded(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match="artifact 999 not found"):
        start(store, "schema", inputs={"examples": [999]})

    assert store.run_executions("run-1") == []


# ---- reading executions ------------------------------------------------------------------------


def test_execution_io_groups_artifacts_by_key_in_index_order(store: MetadataStore) -> None:
    first, second = examples("/e/1"), examples("/e/2")
    run_node(store, "gen", {"examples": [first, second]})
    assert first.id is not None and second.id is not None
    execution_id = start(store, "train", inputs={"examples": [second.id, first.id]})
    model = Model("/tmp/model")
    store.add_pending_outputs(execution_id, {"model": [model]})

    io = store.execution_io(execution_id)

    assert [a.id for a in io.inputs["examples"]] == [second.id, first.id]
    assert [(a.id, a.state) for a in io.outputs["model"]] == [(model.id, "PENDING")]
    assert set(io.inputs) == {"examples"} and set(io.outputs) == {"model"}


def test_published_output_is_listed_once(store: MetadataStore) -> None:
    data = examples()
    execution_id = run_node(store, "gen", {"examples": [data]})

    assert [a.id for a in store.execution_io(execution_id).outputs["examples"]] == [data.id]


def test_run_and_node_executions_oldest_first(store: MetadataStore) -> None:
    store.ensure_run(PIPELINE, "run-2", {})
    a1 = run_node(store, "a", {})
    b1 = run_node(store, "b", {})
    a2 = run_node(store, "a", {}, run_id="run-2")

    assert [e.id for e in store.run_executions("run-1")] == [a1, b1]
    assert [e.id for e in store.node_executions(PIPELINE, "a")] == [a1, a2]
    assert [e.id for e in store.node_executions(PIPELINE, "a", "run-2")] == [a2]
    assert store.node_executions(PIPELINE, "never-ran") == []


def test_lookups_reach_past_the_recent_page_of_a_long_history(store: MetadataStore) -> None:
    # The store reads a node's newest executions first and asks MLMD's filters only when the
    # answer may be older than that page: make it older.
    first = run_node(store, "a", {"examples": [examples("/e/old")]}, cache_key="old")
    store.ensure_run(PIPELINE, "run-2", {})
    later = [run_node(store, "a", {}, run_id="run-2", cache_key=f"new-{i}") for i in range(40)]

    assert [e.id for e in store.node_executions(PIPELINE, "a", "run-1")] == [first]
    assert [e.id for e in store.node_executions(PIPELINE, "a", "run-2")] == later
    found = store.find_cached(PIPELINE, "a", "old")
    assert found is not None and found.id == first
    recent = store.find_cached(PIPELINE, "a", "new-39")
    assert recent is not None and recent.id == later[-1]
    assert store.find_cached(PIPELINE, "a", "never") is None


def test_find_cached_returns_newest_complete_execution_with_the_key(store: MetadataStore) -> None:
    run_node(store, "gen", {"examples": [examples("/e/1")]}, cache_key="k1")
    newest = run_node(store, "gen", {"examples": [examples("/e/2")]}, cache_key="k1")
    run_node(store, "gen", {"examples": [examples("/e/3")]}, cache_key="k2")

    found = store.find_cached(PIPELINE, "gen", "k1")

    assert found is not None and found.id == newest
    assert store.find_cached(PIPELINE, "gen", "k3") is None
    assert store.find_cached(PIPELINE, "other-node", "k1") is None


def test_find_cached_ignores_failed_and_running_executions(store: MetadataStore) -> None:
    failed = start(store, "gen", cache_key="k1")
    store.fail_execution(failed, "boom")
    start(store, "gen", cache_key="k1")

    assert store.find_cached(PIPELINE, "gen", "k1") is None


def test_find_cached_skips_executions_whose_outputs_are_not_live(store: MetadataStore) -> None:
    older = run_node(store, "gen", {"examples": [examples("/e/1")]}, cache_key="k1")
    gone = examples("/e/2")
    run_node(store, "gen", {"examples": [gone]}, cache_key="k1")
    assert gone.id is not None
    mark_deleted(store, gone.id)

    found = store.find_cached(PIPELINE, "gen", "k1")

    assert found is not None and found.id == older


def test_find_cached_matches_keys_with_quotes_and_backslashes(store: MetadataStore) -> None:
    for key in ("it's", "back\\slash"):
        execution_id = run_node(store, "gen", {}, cache_key=key)
        found = store.find_cached(PIPELINE, "gen", key)
        assert found is not None and found.id == execution_id


# ---- artifacts and lineage -----------------------------------------------------------------------


def test_find_artifacts_filters_by_type_run_node_and_state(store: MetadataStore) -> None:
    store.ensure_run(PIPELINE, "run-2", {})
    data = examples()
    run_node(store, "gen", {"examples": [data]})
    assert data.id is not None
    model = Model("/m")
    run_node(store, "train", {"model": [model]}, inputs={"examples": [data.id]})
    pending = Model("/tmp/m2")
    store.add_pending_outputs(start(store, "train", run_id="run-2"), {"model": [pending]})

    assert [a.id for a in store.find_artifacts(type_name="Model")] == [model.id, pending.id]
    assert [a.id for a in store.find_artifacts(run_id="run-1")] == [data.id, model.id]
    assert [a.id for a in store.find_artifacts(pipeline=PIPELINE, node_id="train")] == \
        [model.id, pending.id]
    assert [a.id for a in store.find_artifacts(pipeline=PIPELINE, node_id="train",
                                               state="LIVE")] == [model.id]
    assert [a.id for a in store.find_artifacts(state="PENDING")] == [pending.id]
    assert store.find_artifacts(type_name="ModelBlessing") == []
    assert store.find_artifacts(run_id="no-such-run") == []


def test_find_artifacts_by_node_excludes_what_the_node_consumed(store: MetadataStore) -> None:
    data = examples()
    run_node(store, "gen", {"examples": [data]})
    assert data.id is not None
    run_node(store, "train", {"model": [Model("/m")]}, inputs={"examples": [data.id]})

    found = store.find_artifacts(pipeline=PIPELINE, node_id="train", type_name="Examples")

    assert found == []


def test_find_artifacts_refuses_node_without_pipeline_and_unknown_state(
        store: MetadataStore) -> None:
    with pytest.raises(MetadataError, match="needs the pipeline"):
        store.find_artifacts(node_id="train")
    with pytest.raises(MetadataError, match="unknown artifact state 'live'"):
        store.find_artifacts(state="live")


@pytest.fixture
def chain(store: MetadataStore) -> dict[str, int]:
    """a -> b -> c: a makes Examples, b a Model from them, c a ModelBlessing from the model."""
    data, model, blessing = examples(), Model("/m"), ModelBlessing("/b")
    ids = {"exec_a": run_node(store, "a", {"examples": [data]})}
    assert data.id is not None
    ids["exec_b"] = run_node(store, "b", {"model": [model]}, inputs={"examples": [data.id]})
    assert model.id is not None
    ids["exec_c"] = run_node(store, "c", {"blessing": [blessing]}, inputs={"model": [model.id]})
    assert blessing.id is not None
    ids.update(examples=data.id, model=model.id, blessing=blessing.id)
    return ids


def test_lineage_upstream_names_producers_and_their_inputs(
        store: MetadataStore, chain: dict[str, int]) -> None:
    graph = store.lineage(chain["blessing"], "upstream")

    assert set(graph.artifacts) == {chain["examples"], chain["model"], chain["blessing"]}
    assert set(graph.executions) == {chain["exec_a"], chain["exec_b"], chain["exec_c"]}
    assert [e.node_id for e in graph.producers(chain["blessing"])] == ["c"]
    assert [a.id for a in graph.inputs_of(chain["exec_c"])] == [chain["model"]]
    assert [e.node_id for e in graph.producers(chain["model"])] == ["b"]
    assert [a.type_name for a in graph.inputs_of(chain["exec_b"])] == ["Examples"]
    assert {(e.kind, e.key) for e in graph.events if e.execution_id == chain["exec_b"]} == \
        {("INPUT", "examples"), ("OUTPUT", "model")}


def test_lineage_downstream_names_consumers_and_their_outputs(
        store: MetadataStore, chain: dict[str, int]) -> None:
    graph = store.lineage(chain["examples"], "downstream")

    assert set(graph.executions) == {chain["exec_b"], chain["exec_c"]}
    assert [e.id for e in graph.consumers(chain["examples"])] == [chain["exec_b"]]
    assert [a.id for a in graph.outputs_of(chain["exec_b"])] == [chain["model"]]
    assert [a.id for a in graph.outputs_of(chain["exec_c"])] == [chain["blessing"]]


def test_lineage_stops_after_max_hops(store: MetadataStore, chain: dict[str, int]) -> None:
    graph = store.lineage(chain["blessing"], "upstream", max_hops=2)

    assert set(graph.executions) == {chain["exec_c"]}
    assert set(graph.artifacts) == {chain["blessing"], chain["model"]}


def test_lineage_tree_follows_an_execution_once_and_marks_where_it_recurs(
        store: MetadataStore, chain: dict[str, int]) -> None:
    # d reads both the examples and the model made from them: a diamond upstream of its output.
    evaluation = ModelEvaluation("/e")
    run_node(store, "d", {"evaluation": [evaluation]},
             inputs={"examples": [chain["examples"]], "model": [chain["model"]]})
    assert evaluation.id is not None

    rows = store.lineage(evaluation.id, "upstream").tree(evaluation.id, "upstream")

    made_by_a = [r for r in rows if r.execution is not None and r.execution.node_id == "a"]
    assert [r.repeated for r in made_by_a] == [False, True]
    printed = [line.strip() for line in format_lineage(
        store.lineage(evaluation.id, "upstream"), evaluation.id, "upstream")
        if "produced by a " in line]
    assert [line.endswith(", as above") for line in printed] == [False, True]


def test_lineage_of_a_cached_output_lists_both_producers(
        store: MetadataStore, chain: dict[str, int]) -> None:
    store.ensure_run(PIPELINE, "run-2", {})
    cached = store.record_cached_execution(
        pipeline=PIPELINE, run_id="run-2", node_id="b", execution_type="tests.b",
        properties={}, inputs={"examples": [chain["examples"]]},
        outputs={"model": [chain["model"]]})

    graph = store.lineage(chain["model"], "upstream", max_hops=1)

    assert [e.id for e in graph.producers(chain["model"])] == [chain["exec_b"], cached]


# ---- errors and lifecycle ---------------------------------------------------------------------


def test_unknown_run_raises_not_found_naming_it(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match=r"run 'nope' not found in .*conveyor runs"):
        store.get_run("nope")
    with pytest.raises(NotFoundError, match="run 'nope'"):
        store.run_executions("nope")
    with pytest.raises(NotFoundError, match="run 'nope'"):
        start(store, "gen", run_id="nope")


def test_unknown_artifact_and_execution_raise_not_found(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match="artifact 12345 not found"):
        store.get_artifact(12345)
    with pytest.raises(NotFoundError, match="artifact 12345 not found"):
        store.lineage(12345, "upstream")
    with pytest.raises(NotFoundError, match="execution 12345 not found"):
        store.get_execution(12345)
    with pytest.raises(NotFoundError, match="execution 12345 not found"):
        store.execution_io(12345)


def test_closed_store_refuses_calls() -> None:
    store = connect(MetadataConfig.memory())
    store.close()

    with pytest.raises(MetadataError, match="is closed"):
        store.list_runs()


def test_sqlite_store_persists_across_instances(tmp_path: Path) -> None:
    config = MetadataConfig.sqlite(str(tmp_path / "metadata.sqlite"))
    with connect(config) as first:
        first.ensure_run(PIPELINE, "run-1", {"ir_path": "/ir.json"})
        data = examples()
        run_node(first, "gen", {"examples": [data]}, cache_key="k1")

    with connect(config) as second:
        assert second.get_run("run-1").properties == {"ir_path": "/ir.json"}
        found = second.find_cached(PIPELINE, "gen", "k1")
        assert found is not None
        assert data.id is not None
        assert second.get_artifact(data.id).properties["split_names"] == ["train", "eval"]
        # Types and contexts written by the first instance are found, not registered again.
        run_node(second, "gen", {"examples": [examples("/e/2")]})
        assert len(second.node_executions(PIPELINE, "gen", "run-1")) == 2


def test_sqlite_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    connect(MetadataConfig.sqlite(str(path))).close()

    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT count(*) FROM Type").fetchone()[0] > 0  # MLMD's schema


def test_two_stores_on_one_file_in_one_process_both_work(tmp_path: Path) -> None:
    config = MetadataConfig.sqlite(str(tmp_path / "metadata.sqlite"))
    with connect(config) as first:
        first.ensure_run(PIPELINE, "run-1", {})
        with connect(config) as second:
            run_node(second, "gen", {"examples": [examples()]})
        run_node(first, "gen", {"examples": [examples()]})

        assert len(first.run_executions("run-1")) == 2


def test_unopenable_sqlite_file_raises_metadata_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    with pytest.raises(MetadataError, match=r"cannot open the metadata store sqlite://.*"
                                            r"CONVEYOR_METADATA"):
        connect(MetadataConfig.sqlite(str(blocker / "metadata.sqlite")))


def test_unreachable_mysql_raises_metadata_error_without_password() -> None:
    config = MetadataConfig.parse("mysql://me:secret@127.0.0.1:1/mlmd")

    with pytest.raises(MetadataError, match=r"mysql://me@127.0.0.1:1/mlmd.*MySQL server") as err:
        connect(config)
    assert "secret" not in str(err.value)


def test_concurrent_use_from_four_threads(store: MetadataStore) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            # All threads create the same new run and node contexts, and write to them.
            store.ensure_run(PIPELINE, "run-shared", {f"worker{worker}": "started"})
            for i in range(5):
                key = f"k{worker}.{i}"
                run_node(store, "shared", {"examples": [examples(f"/e/{key}")]},
                         run_id="run-shared", cache_key=key)
                assert store.find_cached(PIPELINE, "shared", key) is not None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(store.run_executions("run-shared")) == 20
    assert len(store.find_artifacts(pipeline=PIPELINE, node_id="shared", state="LIVE")) == 20
    assert set(store.get_run("run-shared").properties) == {f"worker{w}" for w in range(4)}


# ---- several processes on one SQLite file ------------------------------------------------------

_TASK = textwrap.dedent("""
    import sys, time
    from conveyor.metadata import MetadataConfig, connect
    path, worker, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with connect(MetadataConfig.sqlite(path)) as store:
        time.sleep(max(0.0, start_at - time.time()))
        for r in range(8):
            # Every worker starts every run, as the tasks of one Kubeflow run do.
            store.ensure_run("penguin", f"run-{r}", {})
            store.start_execution(pipeline="penguin", run_id=f"run-{r}", node_id=f"n{worker}",
                                  execution_type="tests.n", properties={"cache_key": "k"},
                                  inputs={})
""")


def test_processes_starting_the_same_runs_at_once_all_succeed(tmp_path: Path) -> None:
    path = str(tmp_path / "metadata.sqlite")
    connect(MetadataConfig.sqlite(path)).close()
    start_at = time.time() + 3  # after every worker has imported and connected
    workers = [subprocess.Popen([sys.executable, "-c", _TASK, path, str(w), str(start_at)],
                                stderr=subprocess.PIPE, text=True) for w in range(4)]
    # Without the writer lock this took ~9 s here instead of ~3.5 s (MLMD's retry sleeps), and
    # without the tolerant link it could fail on the run's second ParentContext insert.
    failures = {w: p.communicate(timeout=120)[1][-2000:] for w, p in enumerate(workers)
                if p.wait() != 0}

    assert failures == {}
    with connect(MetadataConfig.sqlite(path)) as store:
        runs = sorted(r.run_id for r in store.list_runs("penguin"))
        assert runs == [f"run-{r}" for r in range(8)]
        for r in range(8):
            assert len(store.run_executions(f"run-{r}")) == 4


def test_writer_lock_excludes_other_holders_until_the_outermost_exit(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "metadata.sqlite"))
    other = os.open(tmp_path / "metadata.sqlite.lock", os.O_RDWR | os.O_CREAT)

    def other_can_lock() -> bool:
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(other, fcntl.LOCK_UN)
        return True

    try:
        with lock:
            with lock:  # store methods call one another
                assert not other_can_lock()
            assert not other_can_lock()
        assert other_can_lock()
    finally:
        os.close(other)
        lock.close()


def test_store_calls_wait_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    with connect(MetadataConfig.sqlite(str(path))) as store:
        other = os.open(tmp_path / "metadata.sqlite.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(other, fcntl.LOCK_EX)
        call = threading.Thread(target=store.ensure_run, args=(PIPELINE, "run-1", {}))
        try:
            call.start()
            call.join(timeout=0.5)
            assert call.is_alive()  # waiting for its turn
        finally:
            os.close(other)
        call.join(timeout=30)
        assert not call.is_alive()
        assert store.get_run("run-1").run_id == "run-1"


def test_store_works_without_the_lock_when_its_file_cannot_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    (tmp_path / "metadata.sqlite.lock").mkdir()  # as in a directory this user may not write
    with connect(MetadataConfig.sqlite(str(path))) as store:
        store.ensure_run(PIPELINE, "run-1", {})
        assert store.get_run("run-1").run_id == "run-1"


def test_linking_a_run_another_process_already_linked_is_not_an_error(
        tmp_path: Path) -> None:
    # Stores without the writer lock (MySQL) can still race on the link; the second is a no-op.
    with connect(MetadataConfig.sqlite(str(tmp_path / "metadata.sqlite"))) as store:
        store.ensure_run(PIPELINE, "run-1", {})
        mlmd = store._mlmd  # type: ignore[attr-defined]
        run = mlmd.get_context_by_type_and_name("pipeline_run", "run-1")
        pipeline = mlmd.get_context_by_type_and_name("pipeline", PIPELINE)
        store._contexts.link_to_pipeline(run.id, pipeline.id)  # type: ignore[attr-defined]
        assert [c.id for c in mlmd.get_parent_contexts_by_context(run.id)] == [pipeline.id]
