"""Kubeflow target: the YAML loads with the kfp SDK and parses strictly, matches its golden file,
and its tasks, run as KFP runs them, give the local runner's artifacts and lineage."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PENGUIN_TRAIN_STEPS, REPO, LocalRuns, lineage_shape
from data_helpers import PENGUINS_CSV
from google.protobuf import json_format, struct_pb2
from kfp import components
from kfp.dsl.utils import maybe_rename_for_k8s
from kfp.pipeline_spec import pipeline_spec_pb2
from lineage_content import PENGUIN_SECOND_RUN, PIPELINE_CONTENT, Content

from conveyor import Out, Pipeline, RuntimeParameter, component
from conveyor.examples import hello_pipeline, penguin_pipeline
from conveyor.examples.hello_pipeline import Table, generate
from conveyor.ir import compile_pipeline
from conveyor.metadata import MetadataConfig, connect
from conveyor.metadata.records import CACHED, COMPLETE, FAILED
from conveyor.orchestrators.kubeflow import UnsupportedFeatureError, compile_kubeflow
from conveyor.orchestrators.kubeflow.plan import ENTRYPOINT_COMMAND, kfp_task_name
from conveyor.orchestrators.local import LocalRunner

GOLDENS = Path(__file__).resolve().parent / "goldens"
REPO_TOKEN = "{REPO}"
HEAVY = ["tensorflow", "apache_beam", "tensorflow_data_validation", "tensorflow_model_analysis"]


def read_yaml(path: Path) -> tuple[pipeline_spec_pb2.PipelineSpec,
                                   pipeline_spec_pb2.PlatformSpec | None]:
    """The pipeline (and platform) spec, parsed strictly: an unknown field fails."""
    docs = list(yaml.safe_load_all(path.read_text()))
    spec = json_format.ParseDict(docs[0], pipeline_spec_pb2.PipelineSpec())
    platform = json_format.ParseDict(docs[1], pipeline_spec_pb2.PlatformSpec()) \
        if len(docs) > 1 else None
    return spec, platform


def containers(spec: pipeline_spec_pb2.PipelineSpec) \
        -> dict[str, pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec]:
    """Each task's container, by task name, as KFP's driver reads the deployment config."""
    deployment = json_format.ParseDict(json_format.MessageToDict(spec.deployment_spec),
                                       pipeline_spec_pb2.PipelineDeploymentConfig())
    return {name: deployment.executors[spec.components[task.component_ref.name].executor_label]
            .container for name, task in spec.root.dag.tasks.items()}


# ---- running the tasks as Kubeflow does ------------------------------------------------------

def task_order(spec: pipeline_spec_pb2.PipelineSpec) -> list[str]:
    """Task names, each after the tasks it depends on."""
    tasks = spec.root.dag.tasks
    done: list[str] = []
    while len(done) < len(tasks):
        ready = sorted(n for n, t in tasks.items()
                       if n not in done and set(t.dependent_tasks) <= set(done))
        assert ready, "the tasks depend on each other in a loop"
        done += ready
    return done


def launcher_text(value: struct_pb2.Value) -> str:
    """A parameter value as KFP's launcher writes it into arguments (``getPlaceholders``):
    strings as they are, numbers as Go's ``FormatFloat(v, 'f', -1, 64)``, booleans in lower
    case, lists and structs as JSON."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        text = format(Decimal(repr(value.number_value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    return json.dumps(json_format.MessageToDict(value), separators=(",", ":"))


def run_like_kfp(spec: pipeline_spec_pb2.PipelineSpec, run_uuid: str,
                 arguments: Mapping[str, Any], metadata: str,
                 pods: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every task of ``spec`` in dependency order, each in a fresh process and directory,
    as one KFP run would: the driver resolves each task input (pipeline parameter, or the run
    UUID placeholder), the launcher substitutes ``{{$.inputs.parameters[...]}}`` in the
    arguments and runs the container's command. ``metadata`` plays the cluster's
    CONVEYOR_METADATA. Tasks whose dependencies are done run at the same time, as pods do
    (so their launchers share the metadata store concurrently); a task whose dependency failed
    does not run. Returns each task's process, in the order of :func:`task_order`."""
    values = {}
    for name, definition in spec.root.input_definitions.parameters.items():
        values[name] = json_format.ParseDict(arguments[name], struct_pb2.Value()) \
            if name in arguments else definition.default_value
    by_task = containers(spec)
    tasks = spec.root.dag.tasks
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    skipped: set[str] = set()
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        while len(results) + len(skipped) < len(tasks):
            waiting = [n for n in task_order(spec) if n not in results and n not in skipped]
            skipped.update(n for n in waiting if any(
                d in skipped or (d in results and results[d].returncode != 0)
                for d in tasks[n].dependent_tasks))
            ready = [n for n in waiting if n not in skipped
                     and all(d in results for d in tasks[n].dependent_tasks)]
            runs = {n: pool.submit(_run_task, spec, n, by_task[n], values, run_uuid, metadata,
                                   pods) for n in ready}
            results.update({n: run.result() for n, run in runs.items()})
    return {n: results[n] for n in task_order(spec) if n in results}


def _run_task(spec: pipeline_spec_pb2.PipelineSpec, name: str,
              container: pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec,
              values: Mapping[str, struct_pb2.Value], run_uuid: str, metadata: str,
              pods: Path) -> subprocess.CompletedProcess[str]:
    """Run task ``name``'s container command as KFP's driver and launcher would (see
    :func:`run_like_kfp`)."""
    placeholders = {}
    for input_name, param in spec.root.dag.tasks[name].inputs.parameters.items():
        if param.WhichOneof("kind") == "component_input_parameter":
            value = values[param.component_input_parameter]
        else:
            constant = param.runtime_value.constant
            value = struct_pb2.Value(string_value=run_uuid) \
                if constant.string_value == "{{$.pipeline_job_uuid}}" else constant
        placeholders[f"{{{{$.inputs.parameters['{input_name}']}}}}"] = launcher_text(value)
    argv = []
    for arg in [*container.command, *container.args]:
        for placeholder, text in placeholders.items():
            arg = arg.replace(placeholder, text)
        argv.append(arg)
    assert not [a for a in argv if "{{$" in a], f"unresolved placeholder in {argv}"
    assert argv[0] == "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CONVEYOR_METADATA"] = metadata
    env.update({e.name: e.value for e in container.env})
    pod = pods / f"{run_uuid}-{name}"
    pod.mkdir(parents=True)
    return subprocess.run([sys.executable, *argv[1:]], cwd=pod, env=env, capture_output=True,
                          text=True, timeout=600)


# ---- tests -----------------------------------------------------------------------------------

def test_yaml_loads_with_kfp_and_parses_strictly_with_one_task_per_node(tmp_path: Path) -> None:
    out = tmp_path / "hello.yaml"
    plan = compile_kubeflow(hello_pipeline.pipeline, out, image="registry.example/conveyor:1",
                            pipeline_root="/mnt/shared/runs")
    loaded = components.load_component_from_file(str(out))
    assert loaded.name == "hello"
    assert set(loaded.component_spec.inputs or {}) == {"rows", "learning_rate", "conveyor_ir"}

    spec, platform = read_yaml(out)
    assert platform is None
    ir = plan.ir
    assert ir.root == "/mnt/shared/runs" and ir.metadata is None
    tasks = spec.root.dag.tasks
    assert sorted(tasks) == sorted(t.task_name for t in plan.tasks)  # as predicted
    params = spec.root.input_definitions.parameters
    # The IR is stored once, as the default of a pipeline input every task reads.
    assert params["conveyor_ir"].default_value.string_value == ir.to_json(indent=None)
    # ...there, and in the comment the kfp SDK writes atop the file listing inputs; not per task.
    assert out.read_text().count('"schema_version"') == 2
    assert params["rows"].parameter_type == pipeline_spec_pb2.ParameterType.NUMBER_INTEGER
    assert params["rows"].default_value.number_value == 1000
    assert params["learning_rate"].parameter_type == \
        pipeline_spec_pb2.ParameterType.NUMBER_DOUBLE
    assert not spec.default_pipeline_root  # a path root: KFP keeps its cluster default
    by_task = containers(spec)
    for node in ir.nodes:
        task = tasks[node.id]
        assert sorted(task.dependent_tasks) == sorted(node.upstream)
        assert not task.caching_options.enable_cache
        assert task.task_info.name == node.id
        run_id = task.inputs.parameters["conveyor_run_id"].runtime_value.constant
        assert run_id.string_value == "{{$.pipeline_job_uuid}}"
        container = by_task[node.id]
        assert container.image == "registry.example/conveyor:1"
        assert tuple(container.command) == ENTRYPOINT_COMMAND
        args = list(container.args)
        assert args[args.index("--ir-json") + 1] == "{{$.inputs.parameters['conveyor_ir']}}"
        assert task.inputs.parameters["conveyor_ir"].component_input_parameter == "conveyor_ir"
        assert args[args.index("--node") + 1] == node.id
        assert "rows={{$.inputs.parameters['rows']}}" in args
        assert "--no-cache" not in args and not container.env


def golden_text(text: str) -> str:
    return text.replace(str(REPO), REPO_TOKEN)


def test_hello_pipeline_matches_its_golden_file(tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:
    out = tmp_path / "hello.yaml"
    compile_kubeflow(hello_pipeline.pipeline, out, pipeline_root="gs://conveyor-demo/runs",
                     metadata_secret="conveyor-metadata")
    golden = GOLDENS / "kubeflow_hello.yaml"
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(golden_text(out.read_text()))
    assert golden.exists(), "no golden file yet: run pytest --update-goldens and review it"
    # Compared as data: YAML folds long strings by length, so the repository's path (replaced by
    # a token) must not decide where lines break.
    expected = list(yaml.safe_load_all(golden.read_text()))
    actual = list(yaml.safe_load_all(golden_text(out.read_text())))
    assert actual == expected, "compiled YAML differs from tests/goldens/kubeflow_hello.yaml; " \
                               "if intended, run pytest --update-goldens and review the diff"


def assert_kfp_runs_match_local_runs(spec: pipeline_spec_pb2.PipelineSpec, pipeline: Pipeline,
                                     arguments: dict[str, Any], tmp_path: Path,
                                     tasks: list[str],
                                     content: Mapping[str, Content] | None = None, *,
                                     local: LocalRuns | None = None,
                                     second_run: Mapping[str, str] | None = None) -> str:
    """Run the compiled tasks twice as KFP would (runs ``uuid-1``, ``uuid-2``) and ``pipeline``
    twice with the LocalRunner (``local-1``, ``local-2``; or take ``local``, two such runs
    made already), all with ``arguments``; assert every task of both runs exits 0, the tasks
    are ``tasks`` in order, each KFP run's lineage equals its local twin's (``content`` as in
    :func:`lineage_shape`), the first run completes every node and the second gives each node
    the state in ``second_run`` (default: every node reused from cache). Returns the KFP runs'
    metadata URL."""
    metadata = f"sqlite://{tmp_path / 'kfp.sqlite'}"
    first = run_like_kfp(spec, "uuid-1", arguments, metadata, tmp_path / "pods")
    assert {n: p.returncode for n, p in first.items()} == dict.fromkeys(first, 0), \
        {n: p.stderr[-3000:] for n, p in first.items()}
    assert list(first) == tasks
    again = run_like_kfp(spec, "uuid-2", arguments, metadata, tmp_path / "pods")
    assert {n: p.returncode for n, p in again.items()} == dict.fromkeys(tasks, 0), \
        {n: p.stderr[-3000:] for n, p in again.items()}

    if local is None:
        local = LocalRuns(f"sqlite://{tmp_path / 'local.sqlite'}", ("local-1", "local-2"))
        runner = LocalRunner(metadata=local.metadata)
        for run_id in local.run_ids:
            runner.run(pipeline, run_id=run_id, parameters=arguments,
                       root=str(tmp_path / "local-root"))
    with connect(MetadataConfig.parse(metadata)) as kfp_store, \
            connect(MetadataConfig.parse(local.metadata)) as local_store:
        for kfp_run, local_run in zip(("uuid-1", "uuid-2"), local.run_ids, strict=True):
            assert lineage_shape(kfp_store, kfp_run, content) == \
                lineage_shape(local_store, local_run, content)
        assert {e.state for e in kfp_store.run_executions("uuid-1")} == {COMPLETE}
        nodes = [n.id for n in pipeline.nodes]
        assert {e.node_id: e.state for e in kfp_store.run_executions("uuid-2")} == \
            (second_run or dict.fromkeys(nodes, CACHED))
    return metadata


def test_tasks_run_as_kfp_runs_them_give_the_local_runners_artifacts_and_lineage(
        tmp_path: Path) -> None:
    out = tmp_path / "hello.yaml"
    compile_kubeflow(hello_pipeline.pipeline, out, pipeline_root=str(tmp_path / "kfp-root"))
    spec, _ = read_yaml(out)
    arguments = {"rows": 300}  # learning_rate keeps its default
    metadata = assert_kfp_runs_match_local_runs(
        spec, hello_pipeline.pipeline, arguments, tmp_path,
        ["generate", "fit", "summarize", "evaluate"])

    with connect(MetadataConfig.parse(metadata)) as kfp_store:
        run = kfp_store.get_run("uuid-1")
        assert json.loads(run.properties["parameters"]) == {"rows": 300, "learning_rate": 0.01}
        table = kfp_store.execution_io(kfp_store.run_executions("uuid-1")[0].id).outputs["table"]
        assert table[0].uri.startswith(str(tmp_path / "kfp-root" / "hello" / "generate"))

    # A node failing fails its task; KFP then runs nothing that depends on it.
    failed = run_like_kfp(spec, "uuid-3", {"rows": 0}, metadata, tmp_path / "pods")
    assert {n: p.returncode for n, p in failed.items()} == \
        {"generate": 0, "summarize": 1, "fit": 1}
    assert "node 'fit' failed: ZeroDivisionError" in failed["fit"].stderr
    with connect(MetadataConfig.parse(metadata)) as kfp_store:
        states = {e.node_id: e.state for e in kfp_store.run_executions("uuid-3")}
    assert states == {"generate": COMPLETE, "summarize": FAILED, "fit": FAILED}


#: The full penguin pipeline's tasks in the order run_like_kfp runs them (ready tasks by name).
PENGUIN_TASKS = ["csv-example-gen", "latest-blessed-model", "statistics-gen", "schema-gen",
                 "example-validator", "transform", "trainer", "evaluator", "infra-validator",
                 "pusher"]


# The whole penguin pipeline, cold, on a loaded machine; with the local twin runs when this
# test is the first to ask for them.
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_full_pipeline_tasks_run_as_kfp_runs_them_give_the_local_runners_lineage(
        tmp_path: Path, penguin_local_runs: LocalRuns) -> None:
    # ExampleGen -> validation -> Transform -> Trainer -> LatestBlessedModel -> Evaluator,
    # InfraValidator -> Pusher on the penguins CSV: each task imports what it needs (TensorFlow,
    # TFDV, tf.Transform, TFMA) in its own process, as in a pod; the resolver is a task too.
    out = tmp_path / "penguin.yaml"
    compile_kubeflow(penguin_pipeline.pipeline, out, pipeline_root=str(tmp_path / "kfp-root"))
    spec, _ = read_yaml(out)
    params = spec.root.input_definitions.parameters
    assert params["train_steps"].default_value.number_value == 300
    assert params["serving_dir"].default_value.string_value == ""
    data = tmp_path / "penguin data"  # a space: the launcher passes the value as one argument
    data.mkdir()
    shutil.copy(PENGUINS_CSV, data / "penguins.csv")
    serving = tmp_path / "serving"
    arguments = {"data_dir": str(data), "train_steps": PENGUIN_TRAIN_STEPS,
                 "serving_dir": str(serving)}
    # Statistics, schema and anomalies are compared by their recorded fingerprints; the rest by
    # what is deterministic about them (see lineage_content).
    metadata = assert_kfp_runs_match_local_runs(
        spec, penguin_pipeline.pipeline, arguments, tmp_path, PENGUIN_TASKS, PIPELINE_CONTENT,
        local=penguin_local_runs, second_run=PENGUIN_SECOND_RUN)

    with connect(MetadataConfig.parse(metadata)) as store:
        first = {e.node_id: e for e in store.run_executions("uuid-1")}
        second = {e.node_id: e for e in store.run_executions("uuid-2")}
        assert json.loads(store.get_run("uuid-1").properties["parameters"])["train_steps"] == \
            PENGUIN_TRAIN_STEPS
        [model] = store.execution_io(first["trainer"].id).outputs["model"]
        assert model.uri.startswith(str(tmp_path / "kfp-root" / "penguin" / "trainer"))
        # First run: nothing blessed yet, so no baseline.
        assert store.execution_io(first["latest_blessed_model"].id).outputs.get("model", []) \
            == []
        assert first["latest_blessed_model"].properties["resolved"].startswith("nothing found")
        [blessing] = store.execution_io(first["evaluator"].id).outputs["blessing"]
        assert blessing.custom_properties["blessed"] == 1
        assert blessing.custom_properties["baseline_model_id"] == -1
        assert "no baseline" in blessing.custom_properties["reason"]
        # Second run: the resolver task found the model the first run blessed, and the
        # Evaluator compared the (cached, so same) candidate against it.
        resolved = store.execution_io(second["latest_blessed_model"].id).outputs
        assert [a.id for a in resolved["model"]] == [model.id]
        assert [a.id for a in resolved["blessing"]] == [blessing.id]
        evaluated = store.execution_io(second["evaluator"].id)
        assert [a.id for a in evaluated.inputs["baseline_model"]] == [model.id]
        [again] = evaluated.outputs["blessing"]
        assert (again.custom_properties["blessed"], again.custom_properties["current_model_id"],
                again.custom_properties["baseline_model_id"]) == (1, model.id, model.id)
        [evaluation] = evaluated.outputs["evaluation"]
        with open(os.path.join(evaluation.uri, "slices.json"), encoding="utf-8") as f:
            overall = next(r for r in json.load(f)["rows"] if r["slice"] == "Overall")
        assert overall["baseline"]["accuracy"] == overall["metrics"]["accuracy"] >= 0.8
        # The first run pushed version 1; the second found that model serving as version 1.
        pushed = [store.execution_io(runs["pusher"].id).outputs["pushed_model"][0]
                  for runs in (first, second)]
        assert [(p.custom_properties["pushed_version"], p.custom_properties["new_version"])
                for p in pushed] == [(1, 1), (1, 0)]
    assert (serving / "1" / "saved_model.pb").is_file()
    assert not (serving / "2").exists()


def test_options_set_root_metadata_volume_and_caching(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    plan = compile_kubeflow(hello_pipeline.pipeline, out, pipeline_root="s3://bucket/runs/",
                            metadata_url="mysql://conveyor:pw@mlmd.kubeflow:3306/conveyor")
    spec, platform = read_yaml(out)
    assert spec.default_pipeline_root == "s3://bucket/runs"
    assert plan.ir.root == "/s3/bucket/runs" and platform is None
    assert plan.notes() == ["tasks write artifacts under /s3/bucket/runs, Kubeflow's local path "
                            "for s3://bucket/runs: mount the bucket there (Vertex AI Pipelines "
                            "mounts gs:// buckets under /gcs itself)"]
    for container in containers(spec).values():
        assert [(e.name, e.value) for e in container.env] == \
            [("CONVEYOR_METADATA", "mysql://conveyor:pw@mlmd.kubeflow:3306/conveyor")]

    no_cache = dataclasses.replace(compile_pipeline(hello_pipeline.pipeline),
                                   metadata="mysql://u@db/m", enable_cache=False)
    plan = compile_kubeflow(no_cache, out, pipeline_root="/data/runs",
                            metadata_secret="mlmd-credentials:connection", pvc="shared-runs:/data")
    assert plan.notes() == []  # storage, metadata and code (installed by name) are all provided
    spec, platform = read_yaml(out)
    assert platform is not None
    executors = platform.platforms["kubernetes"].deployment_spec.executors
    by_task = containers(spec)
    for name, task in spec.root.dag.tasks.items():
        config = json_format.MessageToDict(
            executors[spec.components[task.component_ref.name].executor_label])
        assert config == {
            "secretAsEnv": [{"secretName": "mlmd-credentials", "keyToEnv": [
                {"secretKey": "connection", "envVar": "CONVEYOR_METADATA"}]}],
            "pvcMount": [{"constant": "shared-runs", "mountPath": "/data"}]}
        assert "--no-cache" in by_task[name].args
        assert not by_task[name].env  # the secret wins over the pipeline's own metadata URL

    # A runtime parameter without a default is one KFP asks for when a run starts.
    required = Pipeline("required", [generate(rows=RuntimeParameter("rows", int))],
                        root=str(tmp_path))
    compile_kubeflow(required, out)
    rows = read_yaml(out)[0].root.input_definitions.parameters["rows"]
    assert not rows.is_optional and not rows.HasField("default_value")


def test_what_kubeflow_cannot_run_fails_when_compiling_naming_node_and_feature(
        tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"

    def notebook_step(table: Out[Table]) -> None:
        """Defined in a notebook."""

    notebook_step.__module__, notebook_step.__qualname__ = "__main__", "notebook_step"
    step = component(notebook_step)
    with pytest.raises(UnsupportedFeatureError, match=r"pipeline 'nb' node 'notebook_step': "
                                                      r"its function 'notebook_step' is defined "
                                                      r"in __main__"):
        compile_kubeflow(Pipeline("nb", [step()], root=str(tmp_path)), out)

    twins = Pipeline("twins", [generate(id="gen_a"), generate(id="gen-a")], root=str(tmp_path))
    with pytest.raises(UnsupportedFeatureError,
                       match="node 'gen-a': Kubeflow would name its task 'gen-a', like node "
                             "'gen_a'"):
        compile_kubeflow(twins, out)

    for name in ("Output", "conveyor_run_id"):
        clash = Pipeline("clash", [generate(rows=RuntimeParameter(name, int, default=1))],
                         root=str(tmp_path))
        with pytest.raises(UnsupportedFeatureError,
                           match=f"runtime parameter '{name}': Kubeflow pipeline parameters "
                                 f"cannot be called"):
            compile_kubeflow(clash, out)

    hello = hello_pipeline.pipeline
    with pytest.raises(UnsupportedFeatureError, match="'memory:' is an in-memory store"):
        compile_kubeflow(hello, out, metadata_url="memory:")
    with pytest.raises(UnsupportedFeatureError, match="pipeline root 'hdfs://nn/runs' cannot"):
        compile_kubeflow(hello, out, pipeline_root="hdfs://nn/runs")
    with pytest.raises(UnsupportedFeatureError, match="'runs' is a relative path"):
        compile_kubeflow(hello, out, pipeline_root="runs")
    with pytest.raises(UnsupportedFeatureError, match="either a metadata URL or a metadata"):
        compile_kubeflow(hello, out, metadata_url="mysql://h/d", metadata_secret="s")
    with pytest.raises(UnsupportedFeatureError, match="volume 'claim' is not CLAIM:MOUNT_PATH"):
        compile_kubeflow(hello, out, pvc="claim")
    assert not out.exists()


def test_task_names_are_predicted_as_the_kfp_sdk_makes_them() -> None:
    for node_id in ("fit", "fit_a", "Fit__A-", "a-_-b", "_", "x9_Y"):
        assert kfp_task_name(node_id) == maybe_rename_for_k8s(node_id)


def test_cli_compiles_a_pipeline_file_without_importing_ml_libraries(tmp_path: Path) -> None:
    out = tmp_path / "hello.yaml"
    probe = (
        "import sys; from conveyor.cli import main; "
        f"code = main(['compile', 'conveyor/examples/hello_pipeline.py', '--target', "
        f"'kubeflow', '-o', {str(out)!r}, '--root', '/mnt/runs', '--kfp-image', 'img:2']); "
        f"print('exit', code, 'heavy', [m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert "exit 0 heavy []" in done.stdout, done.stdout + done.stderr
    # Loaded from its file, the pipeline's functions are read from that path inside the task.
    assert f"image img:2 must contain them:\n  {REPO}/conveyor/examples/hello_pipeline.py" \
        in done.stdout
    spec, _ = read_yaml(out)
    assert {c.image for c in containers(spec).values()} == {"img:2"}

    light = "import sys, conveyor.orchestrators.kubeflow; print('kfp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", light], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_dockerfile_installs_the_lock_with_bytecode_and_runs_the_entrypoint() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    instructions = [line.strip() for line in dockerfile.replace("\\\n", " ").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    assert instructions[0].startswith("FROM python:3.11")
    assert any(i.startswith("COPY") and "requirements.lock" in i for i in instructions)
    lock_install = [i for i in instructions if "-r requirements.lock" in i]
    assert lock_install and "uv pip install" in lock_install[0]
    assert "--compile-bytecode" in lock_install[0]
    assert any("--no-deps" in i and "uv pip install" in i for i in instructions)
    entrypoint = [i for i in instructions if i.startswith("ENTRYPOINT")]
    assert entrypoint and json.loads(entrypoint[0].split(None, 1)[1]) == list(ENTRYPOINT_COMMAND)
    assert "PYTHONDONTWRITEBYTECODE" not in dockerfile
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "runs" in ignored


def test_a_pipeline_too_large_for_one_task_argument_is_refused(tmp_path: Path) -> None:
    ir = compile_pipeline(Pipeline("huge", [generate(rows=1)], root="/mnt/shared/runs"))
    padded = dataclasses.replace(ir, beam_args=["--x=" + "y" * 140_000])
    with pytest.raises(UnsupportedFeatureError, match=r"^pipeline 'huge': the compiled pipeline "
                       r"is 137 KiB; Kubeflow tasks receive it as one argument"):
        compile_kubeflow(padded, tmp_path / "huge.yaml")


def test_a_node_that_opts_out_of_the_cache_runs_with_no_cache(tmp_path: Path) -> None:
    gen = generate(rows=5).with_cache(False)
    plan = compile_kubeflow(Pipeline("optout", [gen], root="/mnt/shared/runs"),
                            tmp_path / "optout.yaml")
    assert [t.no_cache for t in plan.tasks] == [True]
    spec, _ = read_yaml(tmp_path / "optout.yaml")
    [executor] = spec.deployment_spec.fields["executors"].struct_value.fields.values()
    args = [v.string_value for v in executor.struct_value.fields["container"].struct_value
            .fields["args"].list_value.values]
    assert "--no-cache" in args
