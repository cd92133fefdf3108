"""Showing a run as it happens, and summing it up at the end.

On a terminal, :class:`LiveProgress` redraws one line per node (state, elapsed time, cached);
elsewhere (CI logs, files), :class:`LineProgress` prints one line per event.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Protocol, TextIO

from conveyor.artifacts import SUMMARY
from conveyor.metadata.records import CACHED, COMPLETE, FAILED
from conveyor.runtime.launcher import SKIPPED, NodeResult

RUNNING_LABEL, WAITING_LABEL = "RUNNING", "waiting"


class Progress(Protocol):
    """Receives the events of a run."""

    def run_started(self, pipeline: str, run_id: str, nodes: Sequence[str]) -> None:
        """The run begins with these nodes, in order."""

    def node_started(self, node_id: str) -> None:
        """A node was handed to the launcher."""

    def node_finished(self, result: NodeResult) -> None:
        """A node completed, was reused, failed or was skipped."""

    def run_finished(self) -> None:
        """No more events will come."""


def _state_label(result: NodeResult) -> str:
    state = "RESOLVED" if result.resolved is not None and result.state == COMPLETE \
        else result.state
    label = f"{state} (earlier)" if result.resumed else state
    return f"{label}, STOPPED RUN" if result.stop_reason is not None else label


class NullProgress:
    """Shows nothing."""

    def run_started(self, pipeline: str, run_id: str, nodes: Sequence[str]) -> None:
        """Ignore."""

    def node_started(self, node_id: str) -> None:
        """Ignore."""

    def node_finished(self, result: NodeResult) -> None:
        """Ignore."""

    def run_finished(self) -> None:
        """Ignore."""


class LineProgress:
    """One line per event, for logs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        with self._lock:
            self.stream.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
            self.stream.flush()

    def run_started(self, pipeline: str, run_id: str, nodes: Sequence[str]) -> None:
        """Announce the run."""
        self._say(f"pipeline '{pipeline}' run {run_id}: {len(nodes)} nodes")

    def node_started(self, node_id: str) -> None:
        """Announce a node."""
        self._say(f"{node_id}: running")

    def node_finished(self, result: NodeResult) -> None:
        """Report a node's outcome."""
        detail = f" ({result.error})" if result.state in (FAILED, SKIPPED) else ""
        self._say(f"{result.node_id}: {_state_label(result)} in {result.duration_s:.2f}s{detail}")

    def run_finished(self) -> None:
        """Nothing to close."""


class LiveProgress:
    """A table of nodes redrawn in place on a terminal, with running times ticking."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._order: list[str] = []
        self._state: dict[str, str] = {}
        self._started: dict[str, float] = {}
        self._duration: dict[str, float] = {}
        self._drawn = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def run_started(self, pipeline: str, run_id: str, nodes: Sequence[str]) -> None:
        """Draw every node as waiting and start the clock."""
        self.stream.write(f"pipeline '{pipeline}' run {run_id}\n")
        self._order = list(nodes)
        self._state = {n: WAITING_LABEL for n in nodes}
        self._draw()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def node_started(self, node_id: str) -> None:
        """Mark a node running."""
        with self._lock:
            self._state[node_id] = RUNNING_LABEL
            self._started[node_id] = time.monotonic()
        self._draw()

    def node_finished(self, result: NodeResult) -> None:
        """Show a node's outcome."""
        with self._lock:
            self._state[result.node_id] = _state_label(result)
            self._duration[result.node_id] = result.duration_s
        self._draw()

    def run_finished(self) -> None:
        """Stop ticking and leave the final table on screen."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            width = max((len(n) for n in self._order), default=4)
            now = time.monotonic()
            lines = []
            for node in self._order:
                state = self._state[node]
                if state == RUNNING_LABEL:
                    seconds = f"{now - self._started[node]:6.1f}s"
                elif node in self._duration:
                    seconds = f"{self._duration[node]:6.2f}s"
                else:
                    seconds = ""
                mark = {COMPLETE: "✓", CACHED: "↺", FAILED: "✗", SKIPPED: "-",
                        RUNNING_LABEL: "▶"}.get(state, "·")
                lines.append(f"  {mark} {node:<{width}}  {state:<22} {seconds}")
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
            self.stream.flush()
            self._drawn = len(lines)


def choose_progress(stream: TextIO | None = None) -> Progress:
    """Live redrawing on a terminal, one line per event otherwise."""
    stream = stream or sys.stdout
    return LiveProgress(stream) if stream.isatty() else LineProgress(stream)


def format_summary(results: Sequence[NodeResult]) -> str:
    """A table of every node: state, duration and outputs (or the error and its log)."""
    width = max([len(r.node_id) for r in results] + [4])
    lines = [f"{'node':<{width}}  {'state':<22} {'time':>8}  detail"]
    for r in results:
        if r.state == FAILED:
            detail = f"{r.error}" + (f"\n{'':<{width + 34}}log: {r.log_path}" if r.log_path
                                     else "")
        elif r.state == SKIPPED:
            detail = r.error or ""
        else:
            # The artifact id is what `conveyor show` and `conveyor lineage` take.
            uris = [f"{k}: {a.uri}  (artifact {a.id})"
                    + (f"\n{'':<{width + 34}}  {a.custom_properties[SUMMARY]}"
                       if a.custom_properties.get(SUMMARY) else "")
                    for k, arts in r.outputs.items() for a in arts]
            reuse = [f"reused execution {r.cached_from}"] if r.cached_from else []
            detail = f"\n{'':<{width + 34}}".join(reuse + uris) or r.resolved or "(no outputs)"
        duration = f"{r.duration_s:.2f}s" if r.state != SKIPPED else ""
        lines.append(f"{r.node_id:<{width}}  {_state_label(r):<22} {duration:>8}  {detail}")
    return "\n".join(lines)
