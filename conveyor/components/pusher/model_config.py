"""The serving state of one model base path: its ``models.config`` and ``push_history.json``.

Files kept in the model base path (TensorFlow Serving ignores non-numeric entries there)::

    {serving_dir}/1/, {serving_dir}/2/, ...   versions (see :mod:`.destination`)
    {serving_dir}/models.config               text-format tensorflow.serving.ModelServerConfig:
                                              one model config with name, base_path, platform,
                                              model_version_policy.specific.versions and
                                              version_labels ``stable`` / ``canary``
    {serving_dir}/push_history.json           every push, rollback and promotion, oldest first

``models.config`` is what a server is started with (``--model_config_file``) and what is sent to
a running one. Its ``base_path`` is written by the first push (the Pusher's absolute path) and
kept as found afterwards, so when the server sees the directory under another path (a mounted
volume), edit it once to that path. The history says which versions were ever ``stable`` and
which were rolled back from, so that a rollback knows the previous *good* version. For
scikit-learn and XGBoost models the same files record versions and labels (``model_platform``
names the framework) for whatever serves ``Format-Estimator``; TensorFlow Serving cannot.

Only ``tensorflow_serving.config`` protos are imported here (no TensorFlow): the CLI reads and
rewrites labels quickly.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from conveyor.errors import ExecutionError

CONFIG_FILE = "models.config"
HISTORY_FILE = "push_history.json"
STABLE = "stable"
CANARY = "canary"


@dataclass
class ServingState:
    """One model's versions and labels, as ``models.config`` holds them."""

    name: str
    base_path: str
    platform: str = "tensorflow"
    versions: list[int] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)

    def labels_of(self, version: int) -> list[str]:
        """The labels pointing at ``version``, sorted."""
        return sorted(label for label, v in self.labels.items() if v == version)

    def to_proto(self) -> model_server_config_pb2.ModelServerConfig:
        """The whole ``ModelServerConfig`` (what ``HandleReloadConfigRequest`` replaces)."""
        config = model_server_config_pb2.ModelServerConfig()
        model = config.model_config_list.config.add()
        model.name = self.name
        model.base_path = self.base_path
        model.model_platform = self.platform
        model.model_version_policy.specific.versions.extend(sorted(self.versions))
        for label, version in sorted(self.labels.items()):
            model.version_labels[label] = version
        return config

    @classmethod
    def from_proto(cls, config: model_server_config_pb2.ModelServerConfig,
                   where: str) -> ServingState:
        """The state of the single model in ``config`` (read from ``where``)."""
        models = list(config.model_config_list.config)
        if len(models) != 1:
            raise ExecutionError(f"{where} configures {len(models)} models; Conveyor keeps one "
                                 f"model per base path. Give each model its own serving_dir")
        model = models[0]
        return cls(name=model.name, base_path=model.base_path,
                   platform=model.model_platform or "tensorflow",
                   versions=sorted(model.model_version_policy.specific.versions),
                   labels=dict(model.version_labels))


def read_state(serving_dir: str, model_name: str) -> ServingState | None:
    """The state recorded in ``serving_dir/models.config``; None before the first push.
    ExecutionError when the file is unreadable or describes another model."""
    path = os.path.join(serving_dir, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    try:
        config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as err:
        raise ExecutionError(f"{path} is not a text-format ModelServerConfig: {err}. Fix or "
                             f"remove it (versions are the numeric directories next to it)") \
            from err
    state = ServingState.from_proto(config, path)
    if state.name != model_name:
        raise ExecutionError(f"{path} is the config of model '{state.name}', not "
                             f"'{model_name}': give each model its own serving_dir, or use the "
                             f"name '{state.name}'")
    return state


def write_state(serving_dir: str, state: ServingState) -> str:
    """Replace ``models.config`` atomically (written beside it, then renamed); returns its
    path."""
    path = os.path.join(serving_dir, CONFIG_FILE)
    _replace(path, text_format.MessageToString(state.to_proto()))
    return path


def read_history(serving_dir: str) -> list[dict[str, Any]]:
    """The recorded events, oldest first (empty before the first push)."""
    path = os.path.join(serving_dir, HISTORY_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            events = json.load(f)
    except FileNotFoundError:
        return []
    except json.JSONDecodeError as err:
        raise ExecutionError(f"{path} is not valid JSON ({err}); fix or remove it") from err
    if not isinstance(events, list):
        raise ExecutionError(f"{path} must hold a JSON list of events")
    return events


def record_event(serving_dir: str, event: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """Append an event (``push``, ``rollback``, ``promote``) to the history; returns it."""
    entry = {"event": event, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             **details}
    events = read_history(serving_dir)
    events.append(entry)
    _replace(os.path.join(serving_dir, HISTORY_FILE), json.dumps(events, indent=1))
    return entry


def ever_stable(events: list[dict[str, Any]]) -> set[int]:
    """Versions that were labelled ``stable`` at some point."""
    stable = set()
    for e in events:
        if e["event"] == "push" and STABLE in e.get("labels", []):
            stable.add(int(e["version"]))
        elif e["event"] in ("promote", "rollback"):
            stable.add(int(e["to"]))
    return stable


def rolled_back(events: list[dict[str, Any]]) -> set[int]:
    """Versions a rollback moved ``stable`` away from: known bad."""
    return {int(e["from"]) for e in events if e["event"] == "rollback"}


def _replace(path: str, text: str) -> None:
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
