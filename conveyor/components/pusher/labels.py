"""Moving the ``stable`` label after a push: rollback and promotion.

- :func:`rollback` re-points ``stable`` to the previous *good* version: the newest version
  older than the current ``stable`` that is still present, was ``stable`` once, and was never
  rolled back from (``push_history.json`` knows). The version left is recorded as rolled back
  from, so a later rollback skips it; it keeps no label, so retention removes it in time.
- :func:`promote` moves ``stable`` to the ``canary`` version and clears ``canary``.

Both hold the base path's lock, rewrite ``models.config``, record the event and, given a server
address, send the server the new config and check that the ``stable`` version is AVAILABLE.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

from conveyor.components.pusher import destination
from conveyor.components.pusher.model_config import (
    CANARY,
    CONFIG_FILE,
    STABLE,
    ServingState,
    ever_stable,
    read_history,
    read_state,
    record_event,
    rolled_back,
    write_state,
)
from conveyor.errors import ExecutionError


@dataclass(frozen=True)
class LabelChange:
    """``stable`` moved from one version to another."""

    model_name: str
    previous: int
    stable: int
    state: ServingState


def rollback(serving_dir: str, model_name: str, server_address: str | None = None,
             timeout_s: float = 60.0) -> LabelChange:
    """Re-point ``stable`` to the previous good version (see the module docstring)."""
    base = os.path.abspath(serving_dir)
    with destination.locked(_existing(base)):
        state = _state(base, model_name)
        current = _label(state, STABLE, base)
        events = read_history(base)
        bad = rolled_back(events)
        once_stable = ever_stable(events)
        present = set(destination.versions_on_disk(base))
        candidates = [v for v in state.versions
                      if v < current and v in present and v not in bad
                      and (not events or v in once_stable)]
        if not candidates:
            raise ExecutionError(
                f"cannot roll back model '{model_name}' in {base}: no earlier good version is "
                f"left (stable is {current}; present: {sorted(present)}; rolled back from: "
                f"{sorted(bad) or 'none'}). Push a model, or raise the Pusher's retain")
        target = max(candidates)
        after = replace(state, labels={**state.labels, STABLE: target})
        if after.labels.get(CANARY) == target:
            del after.labels[CANARY]
        _publish(base, after, target, server_address, timeout_s)
        record_event(base, "rollback", {"from": current, "to": target})
    return LabelChange(model_name, current, target, after)


def promote(serving_dir: str, model_name: str, server_address: str | None = None,
            timeout_s: float = 60.0) -> LabelChange:
    """Move ``stable`` to the ``canary`` version and clear ``canary``."""
    base = os.path.abspath(serving_dir)
    with destination.locked(_existing(base)):
        state = _state(base, model_name)
        canary = _label(state, CANARY, base)
        if not os.path.isdir(os.path.join(base, str(canary))):
            raise ExecutionError(f"cannot promote model '{model_name}': its canary version "
                                 f"{canary} is missing from {base}")
        current = state.labels.get(STABLE, 0)
        labels = {k: v for k, v in state.labels.items() if k != CANARY}
        after = replace(state, labels={**labels, STABLE: canary})
        _publish(base, after, canary, server_address, timeout_s)
        record_event(base, "promote", {"from": current, "to": canary})
    return LabelChange(model_name, current, canary, after)


def _publish(base: str, state: ServingState, stable: int, server_address: str | None,
             timeout_s: float) -> None:
    if server_address:
        from conveyor.components.pusher.server import ModelServer

        with ModelServer(server_address, timeout_s) as server:
            server.reload(state.to_proto())
            server.wait_available(state.name, stable)
    write_state(base, state)


def _existing(base: str) -> str:
    if not os.path.isdir(base):
        raise ExecutionError(f"serving directory {base} does not exist; check --serving-dir")
    return base


def _state(base: str, model_name: str) -> ServingState:
    state = read_state(base, model_name)
    if state is None:
        raise ExecutionError(f"{base} has no {CONFIG_FILE}: nothing was pushed there for model "
                             f"'{model_name}'")
    return state


def _label(state: ServingState, label: str, base: str) -> int:
    if label not in state.labels:
        raise ExecutionError(f"model '{state.name}' in {base} has no '{label}' version (labels: "
                             f"{state.labels or 'none'})"
                             + ("; push with canary=True first" if label == CANARY else ""))
    return state.labels[label]
