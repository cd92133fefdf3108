"""Identifying the process running an execution, to tell a live one from an abandoned one.

A killed process cannot mark its execution failed. Each RUNNING execution therefore records who
runs it (host, pid and the process's start time, which survives pid reuse); a later launcher on
the same host that finds the process gone marks the execution FAILED as abandoned.
"""
from __future__ import annotations

import os
import socket


def _stat(pid: int) -> tuple[str, str]:
    """(state, start time in ticks) of ``pid`` from /proc, or ("", "") where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            # Fields 3 (state) and 22 (starttime) come after the parenthesised command name,
            # which may hold spaces: split after the last ')'.
            fields = f.read().rsplit(")", 1)[1].split()
            return fields[0], fields[19]
    except (OSError, IndexError):
        return "", ""


def current_owner() -> str:
    """``host:pid:start`` of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_stat(pid)[1]}"


def owner_is_gone(owner: str) -> bool:
    """Whether the process named by ``owner`` has certainly ended. Unknown hosts are assumed
    alive: only the host that ran a process can tell."""
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    state, ticks = _stat(pid)
    return state == "Z" or (bool(start) and ticks != start)
