"""``conveyor runs | show | lineage | explain-cache``: questions answered from metadata."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from collections import Counter

from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import RUNNING, ArtifactRecord, ExecutionRecord, LineageGraph
from conveyor.runtime.cache import explain
from conveyor.runtime.process import owner_is_gone


def _open(args: argparse.Namespace) -> MetadataStore:
    config = MetadataConfig.resolve(args.metadata, args.root)
    if config.kind == "sqlite" and not os.path.exists(config.path):
        from conveyor.errors import NotFoundError

        raise NotFoundError(f"no metadata at {config.path}; pass the pipeline root with "
                            f"--root, or a metadata URL with --metadata")
    return connect(config)


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else "?"


def display_state(execution: ExecutionRecord) -> str:
    """The execution's state, saying ABANDONED for a RUNNING one whose process is gone, and
    RESOLVED for a resolver node that completed."""
    if execution.state == RUNNING and owner_is_gone(str(execution.properties.get("owner", ""))):
        return "ABANDONED"
    if execution.properties.get("resolver") and execution.state == "COMPLETE":
        return "RESOLVED"
    return execution.state


def _describe_artifact(a: ArtifactRecord) -> str:
    props = "".join(f" {k}={v}" for k, v in sorted(a.properties.items()))
    return f"artifact {a.id} {a.type_name} [{a.state}] {a.uri}{props}"


def list_runs(args: argparse.Namespace) -> int:
    """Print runs, newest first, with a count of node states."""
    with _open(args) as store:
        runs = store.list_runs(args.pipeline)[: args.limit]
        if not runs:
            print("no runs" + (f" of pipeline '{args.pipeline}'" if args.pipeline else ""))
            return 0
        print(f"{'run':<24} {'pipeline':<20} {'started':<19}  nodes")
        for run in runs:
            states = Counter(display_state(e) for e in store.run_executions(run.run_id))
            counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
            print(f"{run.run_id:<24} {run.pipeline:<20} {_when(run.create_time_ms):<19}  "
                  f"{counts or 'none started'}")
    return 0


#: Text views of artifact types, printed by ``conveyor show ARTIFACT_ID``: type name ->
#: "module:function(type_name, uri) -> str | None", imported only when such an artifact is shown.
TEXT_VIEWS = {
    "ExampleStatistics": "conveyor.components.validate.views:render_text",
    "Schema": "conveyor.components.validate.views:render_text",
    "ExampleAnomalies": "conveyor.components.validate.views:render_text",
    "ModelEvaluation": "conveyor.components.evaluator.views:render_text",
    "ModelBlessing": "conveyor.components.evaluator.views:render_text",
    "InfraBlessing": "conveyor.components.pusher.views:render_text",
    "HyperParameters": "conveyor.components.trainer.views:render_text",
    "Model": "conveyor.components.trainer.run_views:render_text",
    "ModelRun": "conveyor.components.trainer.run_views:render_text",
}


def _text_view(artifact: ArtifactRecord) -> str | None:
    ref = TEXT_VIEWS.get(artifact.type_name)
    if ref is None or not os.path.isdir(artifact.uri):
        return None
    module_name, _, function = ref.partition(":")
    view = getattr(importlib.import_module(module_name), function)
    text: str | None = view(artifact.type_name, artifact.uri)
    return text


def show(args: argparse.Namespace) -> int:
    """Print a run (nodes, states, durations, outputs), or one artifact by numeric id."""
    with _open(args) as store:
        if args.target.isdigit():
            artifact = store.get_artifact(int(args.target))
            print(_describe_artifact(artifact))
            for key, value in sorted(artifact.custom_properties.items()):
                print(f"  {key}: {value}")
            if os.path.isdir(artifact.uri):
                for dirpath, _, files in sorted(os.walk(artifact.uri)):
                    for name in sorted(files):
                        full = os.path.join(dirpath, name)
                        print(f"  {os.path.relpath(full, artifact.uri)}  "
                              f"({os.path.getsize(full)} bytes)")
            view = _text_view(artifact)
            if view:
                print()
                print(view)
            return 0
        run = store.get_run(args.target)
        print(f"pipeline '{run.pipeline}' run {run.run_id}, started {_when(run.create_time_ms)}")
        params = json.loads(run.properties.get("parameters", "{}") or "{}")
        if params:
            print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
        for execution in store.run_executions(run.run_id):
            duration = execution.properties.get("duration_s")
            took = f"{float(duration):.2f}s" if duration is not None else "-"
            print(f"\n{execution.node_id}  {display_state(execution)}  {took}  "
                  f"(execution {execution.id})")
            if execution.properties.get("resolved"):
                print(f"  resolved: {execution.properties['resolved']}")
            if execution.properties.get("cached_from"):
                print(f"  reused execution {execution.properties['cached_from']}")
            if execution.properties.get("error"):
                print(f"  error: {execution.properties['error']}")
            if execution.properties.get("log_path"):
                print(f"  log: {execution.properties['log_path']}")
            io = store.execution_io(execution.id)
            for key, artifacts in io.inputs.items():
                for a in artifacts:
                    print(f"  in  {key}: {_describe_artifact(a)}")
            for key, artifacts in io.outputs.items():
                for a in artifacts:
                    print(f"  out {key}: {_describe_artifact(a)}")
    return 0


def format_lineage(graph: LineageGraph, artifact_id: int, direction: str) -> list[str]:
    """An indented tree of the lineage of ``artifact_id`` in one direction."""
    lines = []
    for row in graph.tree(artifact_id, direction):
        pad = "  " * (row.depth + 1)
        if row.execution is not None:
            e = row.execution
            arrow, verb = ("<-", "produced by") if direction == "upstream" else ("->",
                                                                                 "consumed by")
            cached = " (reused from cache)" if e.state == "CACHED" else ""
            repeated = ", as above" if row.repeated else ""
            lines.append(f"{pad}{arrow} {verb} {e.node_id} (execution {e.id}, run {e.run_id}, "
                         f"{e.state}){cached}{repeated}")
        elif row.artifact is not None:
            lines.append(f"{pad}{_describe_artifact(row.artifact)}")
    return lines or ["  (nothing)"]


def lineage(args: argparse.Namespace) -> int:
    """Print what produced an artifact (upstream) and what consumed it (downstream)."""
    with _open(args) as store:
        print(_describe_artifact(store.get_artifact(args.artifact_id)))
        directions = ["upstream", "downstream"] if args.direction == "both" else [args.direction]
        for direction in directions:
            graph = store.lineage(args.artifact_id, direction, args.depth)  # type: ignore[arg-type]
            print(f"{direction}:")
            print("\n".join(format_lineage(graph, args.artifact_id, direction)))
    return 0


def explain_cache(args: argparse.Namespace) -> int:
    """Print why a node of a run was, or was not, reused from cache."""
    with _open(args) as store:
        run = store.get_run(args.run_id)
        print(explain(store, run.pipeline, run.run_id, args.node_id))
    return 0
