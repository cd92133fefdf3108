"""Per-node log files, even when several nodes run at once in threads of one process.

``sys.stdout``/``sys.stderr`` and the root logger are process-wide, so while any node runs they
are replaced by routers that send each thread's output to that thread's node log (and everything
else to the original streams).

The executables (``conveyor`` and the single-node entrypoint) also call :func:`log_to_console`
first: without a handler on the root logger, absl (logging for ML Metadata and TensorFlow)
calls :func:`logging.basicConfig` on its first message, and the console handler that adds would
print the nodes' records too, bypassing their logs.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

_local = threading.local()
_lock = threading.Lock()
_active = 0
_saved: tuple[TextIO, TextIO] | None = None


class _Router(io.TextIOBase):
    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback

    def write(self, text: str) -> int:
        target: TextIO | None = getattr(_local, "log", None)
        if target is None:
            return self.fallback.write(text)
        _echo(text)
        return target.write(text)

    def flush(self) -> None:
        target: TextIO | None = getattr(_local, "log", None)
        (target or self.fallback).flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


class _ThreadHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target: TextIO | None = getattr(_local, "log", None)
        if target is not None:
            text = self.format(record) + "\n"
            _echo(text)
            try:
                target.write(text)
            except ValueError:  # the node's log was closed by another path
                pass


def _echo(text: str) -> None:
    echo: TextIO | None = getattr(_local, "echo", None)
    if echo is not None:
        echo.write(text)


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_local, "log", None) is None:  # a node's records are in its log
            super().emit(record)


def log_to_console() -> None:
    """Give the root logger, if it has no handler yet, a handler printing to stderr as
    :func:`logging.basicConfig` would, except the records of threads running a node."""
    root = logging.getLogger()
    if not root.handlers:
        console = _ConsoleHandler(sys.stderr)
        console.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
        root.addHandler(console)


_handler = _ThreadHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

#: Parent of every executor's logger (``ExecutionContext.logger``). Its records belong in node
#: logs, not on the console where the progress display is.
NODE_LOGGER = logging.getLogger("conveyor.node")
NODE_LOGGER.propagate = False
NODE_LOGGER.addHandler(_handler)
NODE_LOGGER.setLevel(logging.INFO)


@contextlib.contextmanager
def capture(path: str, *, echo: bool = False) -> Iterator[TextIO]:
    """Send this thread's stdout, stderr and log records to the file ``path`` (appended) and,
    with ``echo``, to the process's stderr too: a process running one node for an orchestrator
    shows its log where the orchestrator collects the task's output."""
    global _active, _saved
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8", buffering=1) as log:
        with _lock:
            if _active == 0:
                _saved = (sys.stdout, sys.stderr)
                sys.stdout = _Router(sys.stdout)
                sys.stderr = _Router(sys.stderr)
                logging.getLogger().addHandler(_handler)
            _active += 1
            console = _saved[1] if _saved is not None else sys.__stderr__
        _local.log = log
        _local.echo = console if echo else None
        try:
            yield log
        finally:
            _local.log = _local.echo = None
            with _lock:
                _active -= 1
                if _active == 0 and _saved is not None:
                    sys.stdout, sys.stderr = _saved
                    logging.getLogger().removeHandler(_handler)
                    _saved = None
