"""Pusher: versioned TensorFlow Serving base paths, models.config labels, canary, retention,
rollback and promotion (CLI), a ModelService peer speaking the real protos, and faults (not
blessed, unwritable destination, a push killed mid-copy, concurrent pushes)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
import pytest
from conftest import REPO, TESTS, run_cli
from data_helpers import PENGUINS_CSV, penguin_examples
from google.protobuf import text_format
from serving_helpers import (
    RecordingModelServer,
    bless,
    config_labels,
    sklearn_model,
    tf_model,
    write_sklearn_model,
    write_tf_model,
)
from tensorflow_serving.config import model_server_config_pb2

from conveyor import LocalRunner, Pipeline
from conveyor.artifacts import SUMMARY, Model, ModelBlessing, PushedModel
from conveyor.components.pusher import Pusher
from conveyor.components.pusher import executor as pusher_executor
from conveyor.components.pusher.destination import versions_on_disk
from conveyor.components.pusher.executor import push_version
from conveyor.components.pusher.labels import rollback
from conveyor.components.pusher.model_config import read_history
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError, ExecutionError, ParameterTypeError
from conveyor.metadata import MetadataStore


@pytest.fixture(scope="module")
def model_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A TensorFlow penguin classifier following the model contract."""
    uri = str(tmp_path_factory.mktemp("model"))
    write_tf_model(uri)
    return uri


def read_config(serving: Path) -> tuple[list[int], dict[str, int]]:
    """(versions, labels) recorded in ``serving/models.config``."""
    config = text_format.Parse((serving / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    return config_labels(config)


def context(tmp: Path) -> ExecutionContext:
    """An execution context for calling the executor directly."""
    return ExecutionContext(pipeline="test", run_id="r", node_id="pusher", execution_id=0,
                            pipeline_root=str(tmp), scratch_dir=str(tmp))


def test_pipeline_pushes_a_blessed_model_and_skips_a_not_blessed_one(
        root: Path, open_store: MetadataStore, tmp_path: Path) -> None:
    import tensorflow as tf

    serving = tmp_path / "serving"

    def pipeline(blessed: bool) -> Pipeline:
        gen = penguin_examples(source=PENGUINS_CSV)
        trainer = tf_model(examples=gen.outputs.examples, variant="" if blessed else "scale=2")
        verdict = bless(model=trainer.outputs.model, blessed=blessed,
                        reason="" if blessed else "accuracy 0.61 < 0.9 on slice island=Dream")
        push = Pusher(model=trainer.outputs.model, blessing=verdict.outputs.blessing,
                      serving_dir=str(serving), model_name="penguin")
        return Pipeline("serve", [gen, trainer, verdict, push], root=str(root))

    first = LocalRunner().run(pipeline(True))
    pushed = first["pusher"].outputs["pushed_model"][0]
    props = pushed.custom_properties
    assert props["pushed"] == 1 and props["pushed_version"] == 1
    assert props["pushed_destination"] == str(serving / "1")
    assert json.loads(str(props["labels"])) == ["stable"]
    assert props[SUMMARY] == f"pushed version 1 (stable) to {serving / '1'}"
    assert read_config(serving) == ([1], {"stable": 1})
    model = first["tf_model"].outputs["model"][0]
    served = tf.saved_model.load(str(serving / "1")).signatures["serving_default"]
    original = tf.saved_model.load(os.path.join(model.uri, "Format-Serving"))
    example = tf.train.Example()
    example.features.feature["bill_length_mm"].float_list.value.append(50.0)
    example.features.feature["bill_depth_mm"].float_list.value.append(15.0)
    batch = tf.constant([example.SerializeToString()])
    assert (served(examples=batch)["probabilities"].numpy()
            == original.signatures["serving_default"](examples=batch)["probabilities"].numpy()
            ).all()
    upstream = open_store.lineage(pushed.id, "upstream", 10)
    assert {a.type_name for a in upstream.artifacts.values()} >= {"Examples", "Model",
                                                                  "ModelBlessing"}

    second = LocalRunner().run(pipeline(False))
    skipped = second["pusher"].outputs["pushed_model"][0].custom_properties
    assert skipped["pushed"] == 0
    assert "not blessed" in str(skipped["reason"])
    assert "island=Dream" in str(skipped["reason"])
    assert "pushed_version" not in skipped
    assert str(skipped[SUMMARY]).startswith("not pushed: the model is not blessed")
    assert "\n" not in str(skipped[SUMMARY])  # one line of the run's table
    assert versions_on_disk(str(serving)) == [1]
    assert read_config(serving) == ([1], {"stable": 1})


def test_canary_push_promote_and_rollback_through_the_cli(model_uri: str,
                                                          tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    for _ in range(2):
        push_version(str(serving), "penguin", model_uri)
    canary = push_version(str(serving), "penguin", model_uri, canary=True)
    assert canary.version == 3 and canary.labels == ["canary"]
    assert read_config(serving) == ([1, 2, 3], {"stable": 2, "canary": 3})

    promoted = run_cli("promote", "penguin", "--serving-dir", str(serving), check=True)
    assert "stable 2 -> 3" in promoted.stdout
    assert read_config(serving) == ([1, 2, 3], {"stable": 3})

    rolled = run_cli("rollback", "penguin", "--serving-dir", str(serving), check=True)
    assert "stable 3 -> 2" in rolled.stdout
    assert read_config(serving) == ([1, 2, 3], {"stable": 2})
    # A canary pushed after the rollback, never promoted, is not a "good" version to return to.
    push_version(str(serving), "penguin", model_uri, canary=True)
    assert read_config(serving) == ([1, 2, 3, 4], {"stable": 2, "canary": 4})
    run_cli("rollback", "penguin", "--serving-dir", str(serving), check=True)
    assert read_config(serving)[1] == {"stable": 1, "canary": 4}

    exhausted = run_cli("rollback", "penguin", "--serving-dir", str(serving))
    assert exhausted.returncode == 1
    assert "no earlier good version" in exhausted.stderr and "rolled back from: [2, 3]" \
        in exhausted.stderr
    history = read_history(str(serving))
    assert [e["event"] for e in history] == ["push", "push", "push", "promote", "rollback",
                                             "push", "rollback"]
    no_canary = run_cli("promote", "other", "--serving-dir", str(serving))
    assert no_canary.returncode == 1 and "config of model 'penguin', not 'other'" \
        in no_canary.stderr


def test_cli_updates_the_server_when_given(model_uri: str, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    push_version(str(serving), "penguin", model_uri)
    push_version(str(serving), "penguin", model_uri, canary=True)
    server = RecordingModelServer()
    try:
        run_cli("promote", "penguin", "--serving-dir", str(serving), "--server",
                server.address, check=True)
        # The CLI's rollback runs the same function, here in process (TensorFlow is loaded).
        change = rollback(str(serving), "penguin", server_address=server.address)
    finally:
        server.stop()
    assert (change.previous, change.stable) == (2, 1)
    assert [config_labels(c) for c in server.configs] == [([1, 2], {"stable": 2}),
                                                          ([1, 2], {"stable": 1})]
    assert server.configs[0].model_config_list.config[0].base_path == str(serving)
    assert read_config(serving) == ([1, 2], {"stable": 1})


def test_retention_keeps_the_newest_and_every_labelled_version(model_uri: str,
                                                                tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    push_version(str(serving), "penguin", model_uri, retain=2)
    for _ in range(4):
        outcome = push_version(str(serving), "penguin", model_uri, canary=True, retain=2)
    assert outcome.version == 5 and outcome.retired == [3]
    assert versions_on_disk(str(serving)) == [1, 4, 5]
    assert read_config(serving) == ([1, 4, 5], {"stable": 1, "canary": 5})
    outcome = push_version(str(serving), "penguin", model_uri, retain=2)
    assert outcome.version == 6 and outcome.retired == [1, 4]
    assert versions_on_disk(str(serving)) == [5, 6]
    assert read_config(serving) == ([5, 6], {"stable": 6})
    assert not [n for n in os.listdir(serving) if n.startswith(".retired")]


def test_push_reloads_the_server_and_waits_until_the_version_is_available(
        model_uri: str, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    server = RecordingModelServer()
    try:
        push_version(str(serving), "penguin", model_uri, server_address=server.address)
        push_version(str(serving), "penguin", model_uri, server_address=server.address)
    finally:
        server.stop()
    # Each push: the new version without labels first (TF Serving labels only loaded
    # versions), then the labels once it is AVAILABLE.
    assert [config_labels(c) for c in server.configs] == [
        ([1], {}), ([1], {"stable": 1}),
        ([1, 2], {"stable": 1}), ([1, 2], {"stable": 2}),
    ]
    assert server.configs[-1].model_config_list.config[0].base_path == str(serving)

    stuck = RecordingModelServer(load_versions=False)
    try:
        with pytest.raises(ExecutionError, match="did not report model 'penguin' version 3 "
                                                 "AVAILABLE within 1 s"):
            push_version(str(serving), "penguin", model_uri, server_address=stuck.address,
                         timeout_s=1)
    finally:
        stuck.stop()
    assert versions_on_disk(str(serving)) == [1, 2], "the version the server did not load " \
        "is removed"
    assert read_config(serving) == ([1, 2], {"stable": 2})
    assert config_labels(stuck.configs[-1]) == ([1, 2], {"stable": 2}), \
        "the server is sent the config without the failed version"

    with pytest.raises(ExecutionError, match=r"UNAVAILABLE.*Is the server running"):
        push_version(str(serving), "penguin", model_uri, server_address="localhost:1",
                     timeout_s=2)


def test_sklearn_model_is_pushed_to_a_versioned_directory(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    write_sklearn_model(str(model), PENGUINS_CSV)
    serving = tmp_path / "serving"
    outcome = push_version(str(serving), "penguin_sk", str(model))
    assert outcome.version == 1
    version = serving / "1"
    assert sorted(os.listdir(version)) == ["Format-Estimator", "model_info.json"]
    rows = pd.read_csv(PENGUINS_CSV).dropna()[["bill_length_mm", "bill_depth_mm"]].head(20)
    pushed = joblib.load(version / "Format-Estimator" / "model.joblib")
    original = joblib.load(model / "Format-Estimator" / "model.joblib")
    assert (pushed.predict_proba(rows) == original.predict_proba(rows)).all()
    text = (serving / "models.config").read_text()
    assert 'model_platform: "sklearn"' in text
    with pytest.raises(ExecutionError, match="TensorFlow Serving cannot serve a sklearn model"):
        push_version(str(serving), "penguin_sk", str(model), server_address="localhost:1")
    assert versions_on_disk(str(serving)) == [1]


def test_sklearn_pipeline_pushes(root: Path, tmp_path: Path) -> None:
    gen = penguin_examples(source=PENGUINS_CSV)
    trainer = sklearn_model(examples=gen.outputs.examples, csv_path=PENGUINS_CSV)
    verdict = bless(model=trainer.outputs.model)
    push = Pusher(model=trainer.outputs.model, blessing=verdict.outputs.blessing,
                  serving_dir=str(tmp_path / "serving"), model_name="penguin", canary=True)
    result = LocalRunner().run(Pipeline("sk", [gen, trainer, verdict, push], root=str(root)))
    props = result["pusher"].outputs["pushed_model"][0].custom_properties
    assert props["pushed"] == 1 and props["pushed_version"] == 1
    # A canary needs a stable version to run beside: the first push becomes stable.
    assert json.loads(str(props["labels"])) == ["stable"]


def test_unwritable_destination_is_a_clear_error(model_uri: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    serving = blocker / "serving"
    pushed = PushedModel(str(tmp_path / "out"))
    blessing = ModelBlessing(str(tmp_path / "blessing"))
    os.makedirs(blessing.uri)
    (Path(blessing.uri) / "BLESSED").touch()
    with pytest.raises(ExecutionError) as failure:
        pusher_executor.push(model=Model(model_uri), blessing=blessing, pushed_model=pushed,
                             serving_dir=str(serving), model_name="penguin",
                             context=context(tmp_path))
    message = str(failure.value)
    assert f"serving directory {serving} is not writable" in message
    assert "choose another serving_dir" in message


def test_contradictory_or_missing_verdicts(model_uri: str, tmp_path: Path) -> None:
    blessing = ModelBlessing(str(tmp_path / "blessing"))
    os.makedirs(blessing.uri)
    with pytest.raises(DataError, match="holds neither BLESSED nor NOT_BLESSED"):
        pusher_executor.refusal(blessing, None)
    (Path(blessing.uri) / "BLESSED").touch()
    blessing.custom_properties["blessed"] = 0
    with pytest.raises(DataError, match="blessed=0 contradicts its BLESSED file"):
        pusher_executor.refusal(blessing, None)
    with pytest.raises(ParameterTypeError, match=r"retain .* must be >= 1"):
        Pusher(model=tf_model(examples=penguin_examples(source=PENGUINS_CSV).outputs.examples)
               .outputs.model, serving_dir="s", model_name="m", retain=0)


WORKER = """
import os, shutil, sys, time
from conveyor.components.pusher.executor import push_version
from conveyor.components.pusher.labels import rollback
serving, model, marker, delay, go = sys.argv[1:6]
def slow_copy(src, dst):
    with open(marker, "a") as f:
        f.write(src + "\\n")
    time.sleep(float(delay))
    return shutil.copy2(src, dst)
open(marker + ".ready", "w").close()
while go and not os.path.exists(go):
    time.sleep(0.01)
print(push_version(serving, "penguin", model, copy_file=slow_copy).version)
"""


def start_worker(serving: Path, model_uri: str, marker: Path, delay: float,
                 go: str = "") -> subprocess.Popen[str]:
    """A process pushing ``model_uri``, sleeping ``delay`` before each file it copies."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(TESTS)]))
    return subprocess.Popen([sys.executable, "-c", WORKER, str(serving), model_uri, str(marker),
                             str(delay), go], env=env, stdout=subprocess.PIPE, text=True)


def test_a_push_killed_mid_copy_leaves_no_visible_version(model_uri: str,
                                                          tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    push_version(str(serving), "penguin", model_uri)
    marker = tmp_path / "copying"
    worker = start_worker(serving, model_uri, marker, delay=60)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    leftovers = [n for n in os.listdir(serving) if n.startswith(".incoming-")]
    assert leftovers, "the killed push was copying into a hidden directory"
    assert versions_on_disk(str(serving)) == [1]
    assert read_config(serving) == ([1], {"stable": 1})

    outcome = push_version(str(serving), "penguin", model_uri)
    assert outcome.version == 2
    assert versions_on_disk(str(serving)) == [1, 2]
    assert not [n for n in os.listdir(serving) if n.startswith(".incoming-")]
    assert os.path.isfile(serving / "2" / "saved_model.pb")


def test_concurrent_pushes_get_distinct_versions(model_uri: str, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    go = tmp_path / "go"
    workers = [start_worker(serving, model_uri, tmp_path / f"copying-{i}", 0.05, str(go))
               for i in range(2)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"copying-{i}.ready").exists() for i in range(2)):
        assert time.monotonic() < deadline, "the pushing processes did not start"
        time.sleep(0.02)
    go.touch()  # both processes are waiting at the start line: they push at once
    printed = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "a push failed"
    versions = sorted(int(text) for text in printed)
    assert versions == [1, 2]
    assert versions_on_disk(str(serving)) == [1, 2]
    assert read_config(serving) == ([1, 2], {"stable": 2})
    assert sorted(e["version"] for e in read_history(str(serving))) == [1, 2]
    for version in (1, 2):
        files = sorted(os.listdir(serving / str(version)))
        assert files == sorted(["model_info.json", *os.listdir(Path(model_uri) /
                                                                "Format-Serving")])


def test_base_path_edited_for_the_server_is_kept(model_uri: str, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    push_version(str(serving), "penguin", model_uri)
    config = serving / "models.config"
    config.write_text(config.read_text().replace(str(serving), "/models/penguin"))
    push_version(str(serving), "penguin", model_uri)
    parsed = text_format.Parse(config.read_text(), model_server_config_pb2.ModelServerConfig())
    assert parsed.model_config_list.config[0].base_path == "/models/penguin"
    assert config_labels(parsed) == ([1, 2], {"stable": 2})
    assert versions_on_disk(str(serving)) == [1, 2]


def test_without_serving_dir_pushes_under_the_pipeline_root(root: Path) -> None:
    gen = penguin_examples(source=PENGUINS_CSV)
    trainer = tf_model(examples=gen.outputs.examples)
    push = Pusher(model=trainer.outputs.model, serving_dir="", model_name="penguin")
    result = LocalRunner().run(Pipeline("serve", [gen, trainer, push], root=str(root)))
    props = result["pusher"].outputs["pushed_model"][0].custom_properties
    assert props["pushed_destination"] == str(root / "serving" / "penguin" / "1")
    assert read_config(root / "serving" / "penguin") == ([1], {"stable": 1})


def test_the_pusher_keeps_serving_a_model_it_already_pushed(root: Path) -> None:
    # A second run that re-evaluates the same (cached) model, e.g. against itself as the new
    # baseline, re-runs the Pusher: it must not copy that model into another version.
    gen = penguin_examples(source=PENGUINS_CSV)
    trainer = tf_model(examples=gen.outputs.examples)
    verdict = bless(model=trainer.outputs.model, blessed=True, reason="")
    push = Pusher(model=trainer.outputs.model, blessing=verdict.outputs.blessing,
                  serving_dir="", model_name="penguin").with_cache(False)
    pipeline = Pipeline("serve", [gen, trainer, verdict, push], root=str(root))
    LocalRunner().run(pipeline)
    again = LocalRunner().run(pipeline)
    props = again["pusher"].outputs["pushed_model"][0].custom_properties
    serving = root / "serving" / "penguin"
    assert (props["pushed"], props["pushed_version"], props["new_version"]) == (1, 1, 0)
    assert str(props[SUMMARY]).startswith("already serving as version 1 (stable)")
    assert versions_on_disk(str(serving)) == [1]
    assert [e["event"] for e in read_history(str(serving))] == ["push"]
