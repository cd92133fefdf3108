"""The Airflow target with real Airflow: DAG files parse, `airflow dags test` runs pipelines.

One Airflow home per module (a temporary directory, `airflow db migrate` once). Airflow runs in
subprocesses, so its global configuration never leaks into other tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import PENGUIN_TRAIN_STEPS, REPO, TESTS, LocalRuns, lineage_shape, run_cli
from data_helpers import PENGUINS_CSV
from lineage_content import PENGUIN_SECOND_RUN, PIPELINE_CONTENT

from conveyor.dsl.loading import load_pipeline
from conveyor.errors import DefinitionError
from conveyor.examples import penguin_pipeline
from conveyor.ir import compile_pipeline
from conveyor.ir.model import PipelineIR, SourceRef
from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import CACHED, COMPLETE, FAILED
from conveyor.orchestrators.airflow import compile_airflow
from conveyor.orchestrators.airflow.commands import conveyor_param, conveyor_run_id

pytestmark = pytest.mark.slow

HELLO = REPO / "conveyor" / "examples" / "hello_pipeline.py"
PENGUIN_DATA_NODES = ["csv_example_gen", "statistics_gen", "schema_gen", "example_validator"]
#: Whole-pipeline runs of the penguin pipeline (ten tasks, each a process importing TensorFlow,
#: tf.Transform or TFMA) take minutes on a loaded machine.
PENGUIN_TIMEOUT = 1200
HEAVY = ["tensorflow", "apache_beam", "tensorflow_data_validation", "tensorflow_model_analysis"]

FLOW = '''
import os
from fixture_components import add, gate, produce
from conveyor import Pipeline, RuntimeParameter

amount = RuntimeParameter("amount", int, default=1)
first = produce(value=1, trace=os.environ["TRACE"], id="first")
second = add(inp=first.outputs.out, amount=amount, require=os.environ["REQUIRE"], id="second")
third = add(inp=second.outputs.out, amount=10, id="third")
check = gate(inp=first.outputs.out, stop=RuntimeParameter("stop", bool, default=False),
             id="check")
after_check = add(inp=first.outputs.out, id="after_check").after(check)
pipeline = Pipeline("flow", [first, second, third, check, after_check], root=os.environ["ROOT"])
'''


@dataclass
class AirflowHome:
    """A migrated Airflow home and the environment that uses it."""

    path: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``airflow ARGS`` in this home."""
        return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args],
                              env=self.env, cwd=self.path, capture_output=True, text=True,
                              timeout=timeout)

    def python(self, code: str) -> object:
        """Run ``code`` in a fresh interpreter in this home; it prints one JSON value last."""
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=self.env,
                              cwd=self.path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def dags_test(self, dag_file: Path, dag_id: str, date: str,
                  conf: dict[str, object] | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``airflow dags test`` of the DAG in ``dag_file`` on logical date ``date``."""
        extra = ["-c", json.dumps(conf)] if conf is not None else []
        return self.run("dags", "test", dag_id, date, "-S", str(dag_file.parent), *extra,
                        timeout=timeout)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "CONVEYOR_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
               PYTHONWARNINGS="ignore", PYTHONPATH=os.pathsep.join([str(TESTS), str(REPO)]))
    airflow_home = AirflowHome(home, env)
    migrated = airflow_home.run("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return airflow_home


@pytest.fixture(scope="module")
def hello_dag(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo pipeline compiled with options by the CLI: (DAG file, pipeline root)."""
    base = tmp_path_factory.mktemp("hello")
    dag_file, root = base / "dags" / "hello.py", base / "root"
    run_cli("compile", str(HELLO), "--target", "airflow", "-o", str(dag_file), "--root",
            str(root), "--schedule", "@daily", "--start-date", "2024-02-01", "--catchup",
            "--retries", "2", "--retry-delay", "30", "--param", "rows=200", check=True)
    return dag_file, root


def store_of(root: Path) -> MetadataStore:
    return connect(MetadataConfig.for_root(str(root)))


def airflow_run(dag_id: str, date: str) -> str:
    """The Conveyor run id of ``airflow dags test DAG DATE``."""
    return conveyor_run_id(f"manual__{date}T00:00:00+00:00", dag_id)


def failures(root: Path, run_id: str) -> str:
    """Each node of ``run_id`` that did not succeed, with its error: an assertion message more
    telling than the end of Airflow's log."""
    with store_of(root) as store:
        return "\n".join(f"{e.node_id}: {e.state} {e.properties.get('error', '')}"
                         for e in store.run_executions(run_id)
                         if e.state not in (COMPLETE, CACHED)) or "no node failed"


@pytest.fixture(scope="module")
def hello_parsed(airflow: AirflowHome, hello_dag: tuple[Path, Path]) -> dict[str, Any]:
    """What Airflow makes of the demo's DAG file, parsed in a fresh process."""
    dag_file, _ = hello_dag
    # The DAG processor has Airflow loaded already; what a file costs is the rest. Airflow
    # imports jsonschema itself to check params and to serialise any DAG; here that costs ~2 s
    # once per process (jupyter-events pulls in rfc3987-syntax, which builds a grammar on import).
    seen = airflow.python(f"""
        import json, runpy, sys, time
        import airflow.models.dag, airflow.models.dagbag, airflow.operators.bash, jsonschema
        started = time.perf_counter()
        ir_json = runpy.run_path({str(dag_file)!r})["PIPELINE_IR"]
        took = time.perf_counter() - started
        heavy = [m for m in {HEAVY!r} if m in sys.modules]

        from airflow.models.dagbag import DagBag
        from airflow.serialization.serialized_objects import SerializedDAG
        bag = DagBag(dag_folder={str(dag_file.parent)!r}, include_examples=False)
        dag = bag.dags["hello"]
        SerializedDAG.to_dict(dag)  # what the scheduler stores must serialise
        print(json.dumps({{
            "took": took, "heavy": heavy, "errors": bag.import_errors, "ir": ir_json,
            "tasks": {{t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}},
            "types": sorted({{type(t).__name__ for t in dag.tasks}}),
            "params": {{k: [v.value, v.schema] for k, v in dag.params.items()}},
            "schedule": dag.schedule_interval, "catchup": dag.catchup,
            "start": dag.start_date.isoformat(), "retries": dag.default_args["retries"],
            "retry_delay": dag.default_args["retry_delay"].total_seconds(),
        }}))
    """)
    assert isinstance(seen, dict)
    return seen


def test_dag_file_parses_with_the_tasks_dependencies_and_params_of_the_ir(
        hello_parsed: dict[str, Any], hello_dag: tuple[Path, Path]) -> None:
    dag_file, root = hello_dag
    text = dag_file.read_text()
    assert "build_dag(" in text and text.count("\n") < 250
    ir = compile_pipeline(load_pipeline(str(HELLO)), root=str(root))
    seen = hello_parsed
    assert seen["errors"] == {}
    assert PipelineIR.from_json(seen["ir"]) == ir
    assert seen["tasks"] == {n.id: sorted({*n.upstream, *(r.producer for r in n.inputs.values())})
                             for n in ir.nodes}
    assert seen["tasks"]["evaluate"] == ["fit", "generate"]
    assert seen["types"] == ["BashOperator"]
    assert seen["params"] == {"rows": [200, {"type": "integer"}],
                              "learning_rate": [0.01, {"type": "number"}]}
    assert (seen["schedule"], seen["catchup"], seen["retries"], seen["retry_delay"]) == \
        ("@daily", True, 2, 30.0)
    assert seen["start"] == "2024-02-01T00:00:00+00:00"


def test_parsing_the_dag_file_is_fast_and_imports_no_ml_library(
        hello_parsed: dict[str, Any]) -> None:
    assert hello_parsed["heavy"] == []
    assert hello_parsed["took"] < 1.0, f"parsing the DAG file took {hello_parsed['took']:.2f}s"


def test_dags_test_runs_the_pipeline_with_the_lineage_of_the_local_runner_and_takes_conf(
        airflow: AirflowHome, hello_dag: tuple[Path, Path], tmp_path: Path) -> None:
    dag_file, root = hello_dag
    ran = airflow.dags_test(dag_file, "hello", "2024-02-01")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    local_root = tmp_path / "local"
    run_cli("run", str(HELLO), "--root", str(local_root), "--param", "rows=200", "--quiet",
            check=True)
    run_id = airflow_run("hello", "2024-02-01")
    assert run_id == "hello.manual__2024-02-01T00_00_00_00_00"
    with store_of(root) as tasks, store_of(local_root) as local:
        local_run = local.list_runs("hello")[0].run_id
        assert lineage_shape(tasks, run_id) == lineage_shape(local, local_run)
        assert {e.node_id: e.state for e in tasks.run_executions(run_id)} == \
            dict.fromkeys(["generate", "summarize", "fit", "evaluate"], COMPLETE)

    # A runtime parameter set per run through dag_run.conf, without recompiling.
    again = airflow.dags_test(dag_file, "hello", "2024-02-02", conf={"rows": 50})
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    with store_of(root) as tasks:
        states = {e.node_id: e.state for e in tasks.run_executions(
            airflow_run("hello", "2024-02-02"))}
        assert states == dict.fromkeys(["generate", "summarize", "fit", "evaluate"], COMPLETE)
        tables = tasks.find_artifacts(pipeline="hello", node_id="generate", state="LIVE")
        assert sorted(t.properties["rows"] for t in tables) == [50, 200]


# The whole penguin pipeline, cold, on a loaded machine; with the local twin runs when this
# test is the first to ask for them.
@pytest.mark.timeout(1800)
def test_dags_test_runs_the_full_pipeline_as_the_local_runner_and_bad_data_stops_it(
        airflow: AirflowHome, tmp_path: Path, penguin_local_runs: LocalRuns) -> None:
    # ExampleGen -> validation -> Transform -> Trainer -> LatestBlessedModel -> Evaluator,
    # InfraValidator -> Pusher on the penguins CSV: each task imports TensorFlow, TFDV,
    # tf.Transform or TFMA in its own process; the resolver is a task like the others.
    root, serving = tmp_path / "root", tmp_path / "serving"
    dag_file = tmp_path / "dags" / "penguin.py"
    compile_airflow(compile_pipeline(penguin_pipeline.pipeline, root=str(root)),
                    str(dag_file))
    conf: dict[str, object] = {"train_steps": PENGUIN_TRAIN_STEPS, "serving_dir": str(serving)}
    dates = ["2024-05-01", "2024-05-02"]
    for date in dates:
        ran = airflow.dags_test(dag_file, "penguin", date, conf=conf, timeout=PENGUIN_TIMEOUT)
        assert ran.returncode == 0, failures(root, airflow_run("penguin", date)) + \
            ran.stdout[-3000:]
    first, second = (airflow_run("penguin", date) for date in dates)
    nodes = [n.id for n in penguin_pipeline.pipeline.nodes]
    with store_of(root) as tasks, \
            connect(MetadataConfig.parse(penguin_local_runs.metadata)) as local_store:
        for run_id, local_run in zip((first, second), penguin_local_runs.run_ids, strict=True):
            # Statistics, schema and anomalies by their recorded fingerprints; the rest by what
            # is deterministic about them (see lineage_content).
            assert lineage_shape(tasks, run_id, PIPELINE_CONTENT) == \
                lineage_shape(local_store, local_run, PIPELINE_CONTENT)
        runs = [{e.node_id: e for e in tasks.run_executions(r)} for r in (first, second)]
        assert {n: e.state for n, e in runs[0].items()} == dict.fromkeys(nodes, COMPLETE)
        assert {n: e.state for n, e in runs[1].items()} == PENGUIN_SECOND_RUN
        assert json.loads(tasks.get_run(first).properties["parameters"])["train_steps"] == \
            PENGUIN_TRAIN_STEPS
        # The second run's resolver picked up the model the first run blessed, as baseline.
        [model] = tasks.execution_io(runs[0]["trainer"].id).outputs["model"]
        assert not tasks.execution_io(runs[0]["latest_blessed_model"].id).outputs.get("model")
        resolved = tasks.execution_io(runs[1]["latest_blessed_model"].id).outputs["model"]
        assert [a.id for a in resolved] == [model.id]
        [blessing] = tasks.execution_io(runs[1]["evaluator"].id).outputs["blessing"]
        assert blessing.custom_properties["baseline_model_id"] == model.id
        assert blessing.custom_properties["blessed"] == 1
        # The first run pushed version 1; the second found that model serving as version 1.
        pushed = [tasks.execution_io(r["pusher"].id).outputs["pushed_model"][0] for r in runs]
        assert [(p.custom_properties["pushed_version"], p.custom_properties["new_version"],
                 p.custom_properties["pushed_destination"]) for p in pushed] == \
            [(1, 1, str(serving / "1")), (1, 0, str(serving / "1"))]
    assert (serving / "1" / "saved_model.pb").is_file()

    # Through dag_run.conf, a run reads a CSV cut short after its first row. Hash splitting
    # sends that row to one split, so the other is empty: an anomaly of the data set, which
    # stops the run before Transform. (The pipeline's SchemaGen learns from every split of the
    # same data, so unseen values, such as a new species, would be in the schema and pass.)
    bad = tmp_path / "cut short"
    bad.mkdir()
    with open(PENGUINS_CSV, encoding="utf-8") as f:
        (bad / "penguins.csv").write_text(f.readline() + f.readline(), encoding="utf-8")
    stopped = airflow.dags_test(dag_file, "penguin", "2024-05-03",
                                conf={**conf, "data_dir": str(bad)}, timeout=PENGUIN_TIMEOUT)
    assert stopped.returncode != 0, stopped.stdout[-3000:]
    with store_of(root) as tasks:
        executions = {e.node_id: e for e in tasks.run_executions(
            airflow_run("penguin", "2024-05-03"))}
        # The resolver depends on nothing, so it ran; nothing after the validator did.
        assert {n: e.state for n, e in executions.items()} == \
            dict.fromkeys([*PENGUIN_DATA_NODES, "latest_blessed_model"], COMPLETE)
        [made] = tasks.execution_io(executions["csv_example_gen"].id).outputs["examples"]
        row_counts = json.loads(made.custom_properties["row_counts"])
        assert sorted(row_counts.values()) == [0, 1], row_counts
        [empty] = [split for split, rows in row_counts.items() if rows == 0]
        reason = executions["example_validator"].properties["stop_reason"]
        assert reason.startswith(f"1 anomaly found:\n  split '{empty}' feature '(dataset)' "
                                 f"(ERROR): the split has no data\n"), reason
        [anomalies] = tasks.execution_io(executions["example_validator"].id).outputs["anomalies"]
        assert anomalies.state == "LIVE" and anomalies.custom_properties["anomaly_count"] == 1
    assert not (serving / "2").exists()  # nothing pushed


def test_a_failing_node_fails_dags_test_and_a_rerun_reuses_the_upstream_outputs(
        airflow: AirflowHome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag, root = tmp_path / "flag", tmp_path / "root"
    # Values Jinja or a shell would change: tasks must pass them through untouched.
    trace = tmp_path / "trace {{ ds }} $HOME 'q'.jsonl"
    pipeline_file = tmp_path / "flow.py"
    pipeline_file.write_text(FLOW)
    monkeypatch.setenv("ROOT", str(root))
    monkeypatch.setenv("REQUIRE", str(flag))
    monkeypatch.setenv("TRACE", str(trace))
    dag_file = tmp_path / "dags" / "flow.py"
    compile_airflow(load_pipeline(str(pipeline_file)), str(dag_file), retries=0)

    failed = airflow.dags_test(dag_file, "flow", "2024-03-01")
    assert failed.returncode != 0
    run_id = airflow_run("flow", "2024-03-01")
    with store_of(root) as store:
        states = {e.node_id: e.state for e in store.run_executions(run_id)}
    assert states == {"first": COMPLETE, "second": FAILED, "check": COMPLETE,
                      "after_check": COMPLETE}
    assert trace.exists()

    flag.write_text("ok")
    fixed = airflow.dags_test(dag_file, "flow", "2024-03-01")
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]
    with store_of(root) as store:
        history: dict[str, list[str]] = {}
        for execution in store.run_executions(run_id):
            history.setdefault(execution.node_id, []).append(execution.state)
    assert history == {"first": [COMPLETE, CACHED], "second": [FAILED, COMPLETE],
                       "third": [COMPLETE], "check": [COMPLETE, CACHED],
                       "after_check": [COMPLETE, CACHED]}

    # A node that stops the run fails its task, as on every orchestrator: its outputs are
    # published, nothing after it runs, and the DAG run fails so that alerting sees it.
    stopped = airflow.dags_test(dag_file, "flow", "2024-03-02", conf={"stop": True})
    assert stopped.returncode != 0
    with store_of(root) as store:
        executions = {e.node_id: e for e in store.run_executions(airflow_run("flow",
                                                                             "2024-03-02"))}
    assert executions["check"].state == COMPLETE
    assert executions["check"].properties["stop_reason"] == "value 1 did not pass the gate"
    assert "after_check" not in executions


def test_kubernetes_tasks_run_the_entrypoint_and_a_missing_provider_is_named(
        airflow: AirflowHome, tmp_path: Path) -> None:
    dag_file = tmp_path / "k8s" / "hello_k8s.py"
    run_cli("compile", str(HELLO), "--target", "airflow", "-o", str(dag_file), "--root",
            str(tmp_path / "root"), "--operator", "kubernetes", "--image", "repo/conveyor:1",
            "--namespace", "ml", "--dag-id", "hello_k8s", check=True)
    # The pod's command, rendered by Airflow's own templating, run here by sh instead of a pod.
    seen = airflow.python(f"""
        import ast, json, subprocess, sys
        from airflow.models.dagbag import DagBag
        from conveyor.ir.model import PipelineIR
        from conveyor.orchestrators.airflow.commands import pod_command
        from conveyor.orchestrators.airflow.dag import build_dag, kubernetes_arguments
        from conveyor.orchestrators.airflow.options import DagOptions
        errors = DagBag(dag_folder={str(dag_file.parent)!r}, include_examples=False).import_errors
        [ir_json] = [ast.literal_eval(node.value)
                     for node in ast.parse(open({str(dag_file)!r}).read()).body
                     if isinstance(node, ast.Assign) and node.targets[0].id == "PIPELINE_IR"]
        ir = PipelineIR.from_json(ir_json)
        opts = DagOptions(operator="kubernetes", image="repo/conveyor:1", namespace="ml")
        spec = kubernetes_arguments(pod_command(ir, ir.node("generate"), sys.executable, None),
                                    opts)
        task = build_dag(ir_json).get_task("generate")  # a DAG with Conveyor's Jinja filters
        context = {{"run_id": "manual__2024-04-01T00:00:00+00:00", "dag": task.dag,
                    "params": {{"rows": 30, "learning_rate": None}}}}
        argv = task.render_template(spec["cmds"] + spec["arguments"], context)
        done = subprocess.run(argv, capture_output=True, text=True)
        print(json.dumps({{"errors": list(errors.values()), "rc": done.returncode,
                          "out": done.stdout + done.stderr, "image": spec["image"],
                          "namespace": spec["namespace"], "argv": argv[:2]}}))
    """)
    assert isinstance(seen, dict)
    [error] = seen["errors"]
    assert "pip install apache-airflow-providers-cncf-kubernetes" in error
    assert (seen["image"], seen["namespace"]) == ("repo/conveyor:1", "ml")
    assert seen["argv"][:2] == ["/bin/sh", "-c"]
    assert seen["rc"] == 0, seen["out"]
    assert "generate: COMPLETE" in seen["out"]
    with store_of(tmp_path / "root") as store:
        [table] = store.find_artifacts(pipeline="hello", node_id="generate", state="LIVE")
        assert table.properties["rows"] == 30
        assert [r.run_id for r in store.list_runs("hello")] == \
            ["hello.manual__2024-04-01T00_00_00_00_00"]


def test_what_airflow_cannot_express_fails_at_compile_time(tmp_path: Path) -> None:
    ir = compile_pipeline(load_pipeline(str(HELLO)), root=str(tmp_path / "root"))
    out = str(tmp_path / "dag.py")

    def error(ir: PipelineIR = ir, **options: object) -> str:
        with pytest.raises(DefinitionError) as caught:
            compile_airflow(ir, out, **options)
        return str(caught.value)

    source = ir.node("fit").source
    assert source is not None
    from_main = replace(ir, nodes=[replace(n, source=replace(source, module="__main__"))
                                   if n.id == "fit" else n for n in ir.nodes])
    assert "node 'fit': function component 'fit' is defined in the script being run" in \
        error(from_main, operator="kubernetes", image="img")
    notebook = replace(ir, nodes=[replace(n, source=SourceRef("__main__", None, "f"))
                                  if n.id == "fit" else n for n in ir.nodes])
    assert "node 'fit': function component 'fit' is defined in a notebook" in error(notebook)
    bad_id = replace(ir, nodes=[replace(n, id="fit now") if n.id == "fit" else n
                                for n in ir.nodes])
    assert "node 'fit now': the node id is not a valid Airflow task id" in error(bad_id)
    assert "in-memory store" in error(metadata_url="memory:")
    assert "holds a password" in error(metadata_url="mysql://ml:secret@db:3306/mlmd")
    assert "no runtime parameter 'row'. Did you mean 'rows'?" in error(params={"row": 5})
    assert "expects int, got 'many'" in error(params={"rows": "many"})
    assert "not a valid Airflow DAG id" in error(dag_id="my dag")
    assert "not an ISO date" in error(start_date="tomorrow")
    assert "option 'shedule'. Did you mean 'schedule'?" in error(shedule="@daily")
    assert not os.path.exists(out)
    compile_airflow(from_main, out)  # a bash task on this machine can import the script

    cli = run_cli("compile", str(HELLO), "--target", "airflow", "-o", out, "--operator",
                  "kubernetes")
    assert cli.returncode == 1 and "the kubernetes operator needs the image" in cli.stderr
    helped = run_cli("compile", "--help", check=True).stdout
    assert "--schedule" in helped and "--operator {bash,kubernetes}" in helped


def test_a_fields_minimum_bounds_the_dag_param_and_compile_time_overrides(
        airflow: AirflowHome, tmp_path: Path) -> None:
    ir = compile_pipeline(penguin_pipeline.pipeline, root=str(tmp_path / "root"))
    with pytest.raises(DefinitionError, match=r"node 'trainer' field 'train_steps': runtime "
                       r"parameter 'train_steps' must be >= 1, got 0; give it a value >= 1"):
        compile_airflow(ir, str(tmp_path / "dag.py"), params={"train_steps": "0"})
    # Airflow itself refuses a trigger below the minimum (its form and `dags trigger -c`).
    seen = airflow.python(f"""
        import json
        from airflow.exceptions import ParamValidationError
        from conveyor.orchestrators.airflow.dag import build_dag
        param = build_dag({ir.to_json(indent=None)!r}).params.get_param("train_steps")
        try:
            param.resolve(0)
            refused = False
        except ParamValidationError:
            refused = True
        print(json.dumps({{"schema": param.schema, "refused": refused, "one": param.resolve(1)}}))
    """)
    assert seen == {"schema": {"type": "integer", "minimum": 1}, "refused": True, "one": 1}


def test_run_ids_and_parameter_values_given_to_tasks() -> None:
    assert conveyor_run_id("scheduled__2024-05-01T06:00:00+00:00", "penguin.daily") == \
        "penguin.daily.scheduled__2024-05-01T06_00_00_00_00"
    assert conveyor_run_id("my run/1", "d") == "d.my_run_1"
    assert conveyor_param(None, "rows", "int") == ""
    assert conveyor_param(5.0, "rows", "int") == "rows=5"
    assert conveyor_param(0.5, "learning_rate", "float") == "learning_rate=0.5"
    assert conveyor_param(False, "shuffle", "bool") == "shuffle=false"
    assert conveyor_param("it's {{ x }}", "note", "str") == "note=it's {{ x }}"


def test_pods_read_the_metadata_url_from_a_kubernetes_secret(tmp_path: Path) -> None:
    from conveyor.errors import UnsupportedFeatureError
    from conveyor.orchestrators.airflow.commands import pod_command
    from conveyor.orchestrators.airflow.dag import kubernetes_arguments
    from conveyor.orchestrators.airflow.options import DagOptions

    ir = compile_pipeline(load_pipeline(str(HELLO)), root=str(tmp_path / "root"))
    opts = DagOptions(operator="kubernetes", image="repo/conveyor:1",
                      metadata_secret="mlmd-connection")
    args = kubernetes_arguments(pod_command(ir, ir.node("generate"), "python", None), opts)
    [env] = args["env_vars"]
    assert env.name == "CONVEYOR_METADATA"
    assert (env.value_from.secret_key_ref.name, env.value_from.secret_key_ref.key) == \
        ("mlmd-connection", "url")
    assert DagOptions(operator="kubernetes", image="i", metadata_secret="s:dsn").secret_ref() \
        == ("s", "dsn")
    with pytest.raises(UnsupportedFeatureError, match="reaches pods only"):
        DagOptions(metadata_secret="mlmd-connection")
    with pytest.raises(DefinitionError, match="either a metadata URL or a metadata secret"):
        DagOptions(operator="kubernetes", image="i", metadata_secret="s",
                   metadata_url="mysql://h/db")
    with pytest.raises(DefinitionError, match="is not NAME\\[:KEY\\]"):
        DagOptions(operator="kubernetes", image="i", metadata_secret="Bad_Name")
    dag_file = tmp_path / "k8s.py"
    run_cli("compile", str(HELLO), "--target", "airflow", "-o", str(dag_file), "--operator",
            "kubernetes", "--image", "repo/conveyor:1", "--metadata-secret", "mlmd:url",
            check=True)
    assert "metadata_secret='mlmd:url'," in dag_file.read_text()
