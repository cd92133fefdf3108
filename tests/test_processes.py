"""Behaviour across processes: a SIGKILLed run, the single-node entrypoint, and the CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TESTS, lineage_shape, run_cli

from conveyor.dsl.loading import load_pipeline
from conveyor.ir import compile_pipeline
from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import CACHED, COMPLETE, FAILED, RUNNING

PIPELINE = '''
import os
from fixture_components import add, produce
from conveyor import Pipeline

first = produce(value=1, id="first")
slow = produce(value=2, sleep_s=float(os.environ.get("SLOW_S", "0")),
               started=os.environ.get("STARTED", ""), id="slow")
after = add(inp=slow.outputs.out, amount=1, require=os.environ.get("REQUIRE", ""), id="after")
last = add(inp=after.outputs.out, amount=10, id="last")
pipeline = Pipeline("proc", [first, slow, after, last], root=os.environ["ROOT"])
'''


@pytest.fixture
def pipeline_file(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pipeline.py"
    path.write_text(PIPELINE)
    monkeypatch.setenv("ROOT", str(root))
    monkeypatch.delenv("SLOW_S", raising=False)
    monkeypatch.delenv("REQUIRE", raising=False)
    return path


def store_of(root: Path) -> MetadataStore:
    return connect(MetadataConfig.for_root(str(root)))


def only_run(store: MetadataStore) -> str:
    runs = store.list_runs("proc")
    return runs[0].run_id


def start_slow_run(pipeline_file: Path, tmp_path: Path,
                   *args: str) -> subprocess.Popen[str]:
    """``conveyor run`` of the pipeline, in its own process group, once its slow node (which
    sleeps 120 s) has started; stderr is piped."""
    started = tmp_path / "started"
    env = dict(os.environ, SLOW_S="120", STARTED=str(started),
               PYTHONPATH=f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.Popen([sys.executable, "-m", "conveyor", "run", str(pipeline_file),
                             *args, "--workers", "1", "--quiet"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    while not started.exists():
        assert proc.poll() is None, "the run ended before the slow node started"
        assert time.monotonic() < deadline, "the slow node never started"
        time.sleep(0.05)
    return proc


def test_sigkill_mid_executor_leaves_nothing_live_and_rerun_succeeds(
        pipeline_file: Path, root: Path, tmp_path: Path) -> None:
    proc = start_slow_run(pipeline_file, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()

    with store_of(root) as store:
        run_id = only_run(store)
        slow = [e for e in store.run_executions(run_id) if e.node_id == "slow"]
        assert [e.state for e in slow] == [RUNNING]
        pending = store.execution_io(slow[0].id).outputs["out"]
        assert [a.state for a in pending] == ["PENDING"]
        assert not os.path.exists(pending[0].uri)  # only its staging directory was written
        live = store.find_artifacts(pipeline="proc", node_id="slow", state="LIVE")
        assert live == []
    shown = run_cli("show", run_id, "--root", str(root), check=True).stdout
    assert "slow  ABANDONED" in shown

    # Resume the killed run: the abandoned attempt is marked failed and cleaned, then re-run.
    resumed = run_cli("run", str(pipeline_file), "--resume", run_id, "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with store_of(root) as store:
        slow_runs = [e for e in store.run_executions(run_id) if e.node_id == "slow"]
        assert [e.state for e in slow_runs] == [FAILED, COMPLETE]
        assert "abandoned" in slow_runs[0].properties["error"]
        assert store.execution_io(slow_runs[0].id).outputs["out"][0].state == "ABANDONED"
        staging = [p for p in os.listdir(root / "proc" / "slow" / "out") if p.startswith(".")]
        assert staging == []
        states = {e.node_id: e.state for e in store.run_executions(run_id)
                  if e.state != FAILED}
        assert states == {"first": COMPLETE, "slow": COMPLETE, "after": COMPLETE,
                          "last": COMPLETE}
    # And a fresh run after that reuses everything.
    fresh = run_cli("run", str(pipeline_file), "--quiet", check=True)
    assert "4 succeeded (4 from cache)" in fresh.stdout


def test_ctrl_c_stops_a_run_at_once_and_says_how_to_resume_it(
        pipeline_file: Path, root: Path, tmp_path: Path) -> None:
    proc = start_slow_run(pipeline_file, tmp_path, "--root", str(root))
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    # Not after the node's 120 s: the process ends under it.
    assert time.monotonic() - interrupted < 30
    assert proc.returncode == 130

    with store_of(root) as store:
        run_id = only_run(store)
        assert [e.state for e in store.run_executions(run_id) if e.node_id == "slow"] == \
            [RUNNING]
    command = f"conveyor run {pipeline_file} --root {root} --resume {run_id}"
    assert f"interrupted. Run {run_id} stopped" in stderr and command in stderr
    resumed = run_cli(*command.split()[1:], "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with store_of(root) as store:
        slow = [e for e in store.run_executions(run_id) if e.node_id == "slow"]
        assert [e.state for e in slow] == [FAILED, COMPLETE]
        assert "abandoned" in slow[0].properties["error"]


@pytest.fixture
def warns_file(root: Path, tmp_path: Path) -> Path:
    """A pipeline of one node that logs a warning on the root logger."""
    path = tmp_path / "warns.py"
    path.write_text("from fixture_components import warn\n"
                    "from conveyor import Pipeline\n"
                    f"pipeline = Pipeline('warns', [warn(note='hello')], root={str(root)!r})\n")
    return path


def test_a_nodes_log_records_stay_in_its_log_not_on_the_console(root: Path,
                                                                warns_file: Path) -> None:
    # ML Metadata logs through absl when the store opens, which, with no handler on the root
    # logger, would install Python's default console handler, printing every node's records.
    ran = run_cli("run", str(warns_file), "--quiet", check=True)
    assert "node says hello" not in ran.stderr + ran.stdout
    with store_of(root) as store:
        [execution] = store.run_executions(store.list_runs("warns")[0].run_id)
        with open(execution.properties["log_path"], encoding="utf-8") as log:
            assert "WARNING root: node says hello" in log.read()


def test_a_task_shows_its_nodes_log_on_stderr_for_the_orchestrator(warns_file: Path,
                                                                   tmp_path: Path) -> None:
    ir_path = tmp_path / "pipeline.json"
    compile_pipeline(load_pipeline(str(warns_file))).save(str(ir_path))
    task = subprocess.run(
        [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir", str(ir_path),
         "--node", "warn", "--run-id", "task-run", "--json"],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=""), capture_output=True, text=True,
        timeout=120)
    assert task.returncode == 0, task.stderr
    assert task.stderr.count("WARNING root: node says hello") == 1  # once: not twice
    result = json.loads(task.stdout)  # stdout stays the result alone
    with open(result["log_path"], encoding="utf-8") as log:
        assert "WARNING root: node says hello" in log.read()


def test_entrypoint_gives_the_same_outputs_and_lineage_as_the_local_runner(
        pipeline_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local_root, task_root = tmp_path / "local", tmp_path / "tasks"
    monkeypatch.setenv("ROOT", str(local_root))
    run_cli("run", str(pipeline_file), "--quiet", check=True)

    monkeypatch.setenv("ROOT", str(task_root))
    ir = compile_pipeline(load_pipeline(str(pipeline_file)))
    ir_path = tmp_path / "pipeline.json"
    ir.save(str(ir_path))
    env = dict(os.environ, PYTHONPATH="")  # tasks find fixture code by the path in the IR
    for node in ir.nodes:
        task = subprocess.run(
            [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir", str(ir_path),
             "--node", node.id, "--run-id", "task-run"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert task.returncode == 0, task.stderr
        assert f"{node.id}: COMPLETE" in task.stdout

    with store_of(local_root) as local, store_of(task_root) as tasks:
        assert lineage_shape(tasks, "task-run") == lineage_shape(local, only_run(local))

    again = subprocess.run(
        [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir", str(ir_path),
         "--node", "after", "--run-id", "task-run-2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "upstream node 'slow' has no successful execution" \
        in again.stderr
    for node in ("first", "slow", "after"):
        cached = subprocess.run(
            [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir", str(ir_path),
             "--node", node, "--run-id", "task-run-2", "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert cached.returncode == 0, cached.stderr
        assert f'"state": "{CACHED}"' in cached.stdout


def test_entrypoint_reports_a_failed_node_with_its_log(pipeline_file: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE", str(tmp_path / "missing"))
    ir = compile_pipeline(load_pipeline(str(pipeline_file)))
    ir_path = tmp_path / "pipeline.json"
    ir.save(str(ir_path))
    codes = {}
    for node in ("slow", "after"):
        task = subprocess.run(
            [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir", str(ir_path),
             "--node", node, "--run-id", "r"], capture_output=True, text=True, timeout=120)
        codes[node] = (task.returncode, task.stderr)
    assert codes["slow"][0] == 0
    assert codes["after"][0] == 1
    assert "node 'after' failed: RuntimeError: required file" in codes["after"][1]
    log = codes["after"][1].split("log: ")[1].strip()
    assert "Traceback" in Path(log).read_text()
    bad = subprocess.run([sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir",
                          str(ir_path), "--node", "nope", "--run-id", "r"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "has no node 'nope'" in bad.stderr


def test_cli_run_show_lineage_and_explain(pipeline_file: Path, root: Path,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE", str(tmp_path / "flag"))
    failed = run_cli("run", str(pipeline_file))
    assert failed.returncode == 1
    assert "after" in failed.stdout and "FAILED" in failed.stdout
    assert "log: " in failed.stdout and "--resume" in failed.stdout
    assert "upstream 'after' failed" in failed.stdout

    (tmp_path / "flag").write_text("ok")
    with store_of(root) as store:
        run_id = only_run(store)
    resumed = run_cli("run", str(pipeline_file), "--resume", run_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "(earlier)" in resumed.stdout

    runs = run_cli("runs", "--root", str(root), check=True).stdout
    assert run_id in runs and "proc" in runs
    shown = run_cli("show", run_id, "--root", str(root), check=True).stdout
    for node in ("first", "slow", "after", "last"):
        assert f"\n{node}  " in shown
    with store_of(root) as store:
        last = store.find_artifacts(pipeline="proc", node_id="last", state="LIVE")[0]
    lineage = run_cli("lineage", str(last.id), "--root", str(root), check=True).stdout
    assert "produced by last" in lineage and "produced by after" in lineage
    assert "produced by slow" in lineage and "produced by first" not in lineage

    monkeypatch.setenv("SLOW_S", "0.01")
    rerun = run_cli("run", str(pipeline_file), "--quiet", check=True)
    new_run = rerun.stdout.split("run ")[-1].split(" ")[0]
    explained = run_cli("explain-cache", new_run, "slow", "--root", str(root), check=True).stdout
    assert "parameter 'sleep_s' changed: 0.0 -> 0.01" in explained
    cached = run_cli("explain-cache", new_run, "first", "--root", str(root), check=True).stdout
    assert "reused from cache" in cached
    missing = run_cli("show", "no-such-run", "--root", str(root))
    assert missing.returncode == 1 and "no-such-run" in missing.stderr


def test_import_conveyor_and_help_stay_light() -> None:
    probe = ("import sys, conveyor, conveyor.cli; heavy = ['tensorflow', 'apache_beam', "
             "'tensorflow_data_validation', 'tensorflow_model_analysis', 'tensorflow_transform',"
             " 'airflow', 'kfp', 'ml_metadata', 'pandas']; "
             "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    helped = run_cli("--help", check=True).stdout
    for command in ("run", "runs", "show", "lineage", "explain-cache"):
        assert command in helped


def test_compile_to_ir_runs_with_the_entrypoint_and_unknown_target_lists_targets(
        pipeline_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ir.json"
    compiled = run_cli("compile", str(pipeline_file), "--target", "ir", "-o", str(out),
                       check=True)
    assert "compiled pipeline 'proc' (4 nodes) for ir" in compiled.stdout
    from conveyor.ir import PipelineIR

    ir = PipelineIR.load(str(out))
    assert [n.id for n in ir.nodes] == ["first", "slow", "after", "last"]
    task = subprocess.run(
        [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir-json", out.read_text(),
         "--node", "first", "--run-id", "inline"], capture_output=True, text=True,
        timeout=120, check=False)
    assert task.returncode == 0, task.stderr
    unknown = run_cli("compile", str(pipeline_file), "--target", "kubeflw", "-o", str(out))
    assert unknown.returncode == 1
    assert "unknown compile target 'kubeflw'; valid targets: ir, kubeflow, airflow" \
        in unknown.stderr


def test_entrypoint_exits_3_when_a_node_stops_the_run(tmp_path: Path, root: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gated.py"
    path.write_text(
        "import os\nfrom fixture_components import gate, produce\nfrom conveyor import Pipeline\n"
        "first = produce(value=9, id='first')\n"
        "check = gate(inp=first.outputs.out, stop=True, id='check')\n"
        "pipeline = Pipeline('gated', [first, check], root=os.environ['ROOT'])\n")
    monkeypatch.setenv("ROOT", str(root))
    ir_path = tmp_path / "gated.json"
    compile_pipeline(load_pipeline(str(path))).save(str(ir_path))
    codes = []
    for node in ("first", "check"):
        task = subprocess.run(
            [sys.executable, "-m", "conveyor.runtime.entrypoint", "--ir", str(ir_path),
             "--node", node, "--run-id", "r"], capture_output=True, text=True, timeout=120,
            check=False)
        codes.append(task.returncode)
    assert codes == [0, 3]
    assert "node 'check' stopped the run: value 9 did not pass the gate" in task.stderr
    cli = run_cli("run", str(path), "--quiet")
    assert cli.returncode == 1 and "stopped the run" in cli.stdout


_EXITING = '''
import atexit, sys, types
from pathlib import Path
from conveyor.runtime.exit import exit_process

out = Path(sys.argv[1])
if sys.argv[2] == "heavy":
    sys.modules["tensorflow"] = types.ModuleType("tensorflow")  # stands in for the real import


class Finalized:
    def __del__(self) -> None:
        (out / "finalized").touch()


keep = Finalized()
atexit.register(lambda: (out / "atexit").touch())
print("unflushed", end="")
exit_process(3)
'''


@pytest.mark.parametrize("loaded", ["heavy", "light"])
def test_exit_process_flushes_and_runs_atexit_and_skips_teardown_only_after_heavy_imports(
        tmp_path: Path, loaded: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _EXITING, str(tmp_path), loaded],
                          cwd=REPO, capture_output=True, text=True, timeout=60)

    assert (proc.returncode, proc.stdout) == (3, "unflushed")
    assert (tmp_path / "atexit").exists()
    # Teardown (here a __del__ at interpreter exit) is skipped only once heavy modules loaded.
    assert (tmp_path / "finalized").exists() == (loaded == "light")
