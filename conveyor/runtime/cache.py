"""Cache keys, and explanations of why a node was or was not reused.

A node's cache key is the SHA-256 of its *cache inputs*: the executor reference, the component
type, Conveyor's version, the fingerprint of a function component's code, every parameter value,
the content hash of each user module file and of each external input, and for every input
artifact its id, type and content fingerprint. The inputs are stored (as JSON) on each execution
so that a later question "why did this run again?" is answered by comparing them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from conveyor.metadata.records import CACHED, COMPLETE, ExecutionRecord
from conveyor.metadata.store import MetadataStore

#: Artifact custom property holding the content fingerprint computed at publish time.
FINGERPRINT_PROPERTY = "conveyor_fingerprint"


def canonical_json(cache_inputs: dict[str, Any]) -> str:
    """``cache_inputs`` as canonical JSON: what the key hashes, and what executions record."""
    return json.dumps(cache_inputs, sort_keys=True, separators=(",", ":"), default=str)


def cache_key(canonical: str) -> str:
    """The SHA-256 of cache inputs in their :func:`canonical_json` form."""
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Explanation:
    """Why a node's execution in a run was reused or run: a verdict and the reasons."""

    node_id: str
    run_id: str
    verdict: str
    reasons: list[str]

    def __str__(self) -> str:
        lines = [f"{self.node_id} in run {self.run_id}: {self.verdict}"]
        lines.extend(f"  - {r}" for r in self.reasons)
        return "\n".join(lines)


def explain(store: MetadataStore, pipeline: str, run_id: str, node_id: str) -> Explanation:
    """Explain the newest execution of ``node_id`` in ``run_id`` (see :class:`Explanation`)."""
    runs = store.node_executions(pipeline, node_id, run_id)
    if not runs:
        return Explanation(node_id, run_id, "not executed in this run",
                           ["the node never started: an upstream node failed, or the run was "
                            "stopped before reaching it"])
    current = runs[-1]
    props = current.properties
    if props.get("resolver"):
        return Explanation(node_id, run_id, f"resolved ({current.state.lower()})", [
            "a resolver is never cached: it queries the newest metadata on every run",
            str(props.get("resolved") or props.get("error") or "")])
    if current.state == CACHED:
        source = store.get_execution(int(props["cached_from"]))
        return Explanation(node_id, run_id, "reused from cache", [
            f"cache key {str(props.get('cache_key', ''))[:12]} equals that of execution "
            f"{source.id} (run {source.run_id}), whose outputs are still live",
        ])
    verdict = f"executed ({current.state.lower()})"
    if not props.get("cache_enabled", True):
        return Explanation(node_id, run_id, verdict, ["caching was disabled for this run/node"])
    earlier = [e for e in store.node_executions(pipeline, node_id)
               if e.id < current.id and e.state == COMPLETE]
    if not earlier:
        return Explanation(node_id, run_id, verdict,
                           ["no earlier successful execution of this node to reuse"])
    previous = earlier[-1]
    if previous.properties.get("cache_key") == props.get("cache_key"):
        return Explanation(node_id, run_id, verdict, [
            f"execution {previous.id} (run {previous.run_id}) had the same cache key, but its "
            f"outputs were no longer live or no longer on disk"
        ])
    reasons = diff_cache_inputs(_inputs_of(previous), _inputs_of(current))
    reasons = reasons or ["the cache key changed, but the recorded inputs are identical "
                          "(recorded by another Conveyor version?)"]
    header = f"compared with execution {previous.id} (run {previous.run_id}):"
    return Explanation(node_id, run_id, verdict, [header, *reasons])


def _inputs_of(execution: ExecutionRecord) -> dict[str, Any]:
    raw = execution.properties.get("cache_inputs", "{}")
    loaded = json.loads(raw) if isinstance(raw, str) else raw
    return loaded if isinstance(loaded, dict) else {}


def diff_cache_inputs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two recorded cache inputs."""
    reasons: list[str] = []
    for field, label in (("executor", "executor"), ("component", "component type"),
                         ("conveyor_version", "Conveyor version")):
        if old.get(field) != new.get(field):
            reasons.append(f"{label} changed: {old.get(field)} -> {new.get(field)}")
    if old.get("source") != new.get("source"):
        reasons.append("the component's code changed")
    for field, label in (("parameters", "parameter"), ("module_files", "module file"),
                         ("external_files", "external input"), ("inputs", "input")):
        before, after = old.get(field) or {}, new.get(field) or {}
        for key in sorted(set(before) | set(after)):
            if key not in before:
                reasons.append(f"{label} '{key}' was added")
            elif key not in after:
                reasons.append(f"{label} '{key}' was removed")
            elif before[key] != after[key]:
                reasons.append(_describe_change(field, label, key, before[key], after[key]))
    return reasons


def _describe_change(field: str, label: str, key: str, before: Any, after: Any) -> str:
    if field == "parameters":
        return f"{label} '{key}' changed: {before!r} -> {after!r}"
    if field == "inputs":
        ids_b = [a.get("id") for a in before]
        ids_a = [a.get("id") for a in after]
        fps_b = [a.get("fingerprint") for a in before]
        fps_a = [a.get("fingerprint") for a in after]
        content = "content changed" if fps_b != fps_a else "same content, new artifact"
        return f"{label} '{key}' changed: artifact {ids_b} -> {ids_a} ({content})"
    if field == "module_files":
        return f"{label} '{key}' changed: content {str(before)[:12]} -> {str(after)[:12]}"
    return f"{label} '{key}' changed: content fingerprint {str(before)[:12]} -> {str(after)[:12]}"
