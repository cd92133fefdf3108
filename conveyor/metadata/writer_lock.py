"""One process at a time inside a SQLite metadata file: an advisory lock beside the database.

SQLite allows one writer. ML Metadata opens every call as a deferred transaction that reads
before it writes; when another process commits in between, SQLite refuses the upgrade at once
("database is locked"), and MLMD's Python client retries after a random sleep of about two
seconds, five times at most. Tasks of one run starting together (Kubeflow pods, Airflow workers,
the local runner's parallel nodes) then wait seconds for nothing, and under heavier contention
fail. Taking turns through ``flock`` on ``<database>.lock`` before each store call removes the
conflict: the call waits microseconds for the other process's call to finish instead.

``flock`` locks belong to an open file description, which a forked child shares with its
parent, so a child reopens the file before its first use. A directory where the lock file cannot
be created (a read-only copy of a store) gets no lock; reading needs none in write-ahead-log mode.
"""
from __future__ import annotations

import fcntl
import os
from types import TracebackType


class WriterLock:
    """A re-entrant, inter-process exclusive lock for one metadata database file."""

    def __init__(self, database_path: str) -> None:
        self._path = database_path + ".lock"
        self._fd: int | None = None
        self._pid = -1  # the process that opened _fd
        self._depth = 0

    def __enter__(self) -> WriterLock:
        if self._pid != os.getpid():  # first use, or a forked child: its parent's turn is not its
            self._fd, self._pid, self._depth = self._open(), os.getpid(), 0
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the file (and with it any lock held)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd, self._pid = None, -1

    def _open(self) -> int | None:
        try:
            return os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None
