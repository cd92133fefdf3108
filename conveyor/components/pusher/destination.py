"""Version directories under a model base path, written so no reader sees a partial version.

A version is written into a hidden directory of the base path and renamed to its number in one
``rename``; TensorFlow Serving (and anything listing numeric directories) sees either no version
or a complete one. A process killed mid-copy leaves only a hidden ``.incoming-*`` directory,
removed by the next push (a push killed after the rename but before ``models.config`` was
rewritten leaves a complete version that no config names; later pushes number past it).
Retired versions are renamed to a hidden name before being deleted,
for the same reason.

Every change of a base path (push, rollback, promote) holds an exclusive ``fcntl`` lock on
``{serving_dir}/.conveyor.lock``, so two pushes never pick the same version number and the
config is never written by two processes at once. The kernel drops the lock of a killed process.
``fcntl`` locks need a POSIX file system that supports them (local disks, NFSv4); object stores
such as GCS do not, and are not supported as serving directories.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from conveyor.errors import ExecutionError

LOCK_FILE = ".conveyor.lock"
INCOMING_PREFIX = ".incoming-"
RETIRED_PREFIX = ".retired-"

#: Copies one file (``shutil.copy2``'s signature).
CopyFile = Callable[[str, str], object]


def prepare(serving_dir: str) -> str:
    """Create ``serving_dir`` if needed and check it is writable; returns its absolute path.
    ExecutionError naming the directory otherwise."""
    path = os.path.abspath(serving_dir)
    try:
        os.makedirs(path, exist_ok=True)
        # Not an INCOMING_PREFIX name: a push holding the lock would delete it under our feet.
        os.rmdir(tempfile.mkdtemp(dir=path, prefix=".conveyor-probe-"))
    except OSError as err:
        raise ExecutionError(
            f"serving directory {path} is not writable ({err.strerror or err}): create it with "
            f"write permission for this user, or choose another serving_dir") from err
    return path


@contextmanager
def locked(serving_dir: str) -> Iterator[None]:
    """Hold the base path's exclusive lock (blocking until other pushes are done)."""
    fd = os.open(os.path.join(serving_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def versions_on_disk(serving_dir: str) -> list[int]:
    """The numeric subdirectories of the base path, ascending."""
    return sorted(int(name) for name in os.listdir(serving_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(serving_dir, name)))


def remove_abandoned(serving_dir: str) -> list[str]:
    """Delete hidden directories left by killed pushes; call holding the lock (so none of
    them belongs to a running push). Returns their names."""
    names = [n for n in os.listdir(serving_dir)
             if n.startswith((INCOMING_PREFIX, RETIRED_PREFIX))]
    for name in names:
        shutil.rmtree(os.path.join(serving_dir, name), ignore_errors=True)
    return names


def install(serving_dir: str, version: int, sources: Sequence[tuple[str, str]],
            copy_file: CopyFile = shutil.copy2) -> str:
    """Copy each ``(source, name)`` (a file or a directory) into a hidden directory, then
    rename it to ``serving_dir/version``; returns the version's path.

    For TensorFlow the SavedModel's files go at the top of the version directory, as
    TensorFlow Serving expects; ``sources`` says what goes where.
    """
    final = os.path.join(serving_dir, str(version))
    incoming = os.path.join(serving_dir, f"{INCOMING_PREFIX}{version}-{os.getpid()}")
    os.mkdir(incoming)
    try:
        for source, name in sources:
            target = os.path.join(incoming, name) if name else incoming
            if os.path.isdir(source):
                shutil.copytree(source, target, copy_function=copy_file, dirs_exist_ok=True)
            else:
                copy_file(source, target)
        _sync_tree(incoming)
        os.rename(incoming, final)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return final


def retire(serving_dir: str, version: int) -> None:
    """Remove a version: renamed to a hidden name first, so it vanishes in one step."""
    path = os.path.join(serving_dir, str(version))
    if not os.path.isdir(path):
        return
    hidden = os.path.join(serving_dir, f"{RETIRED_PREFIX}{version}-{os.getpid()}")
    os.rename(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)


def to_retire(versions: Sequence[int], keep: int, labelled: Sequence[int]) -> list[int]:
    """Versions beyond the newest ``keep``, except labelled ones."""
    newest = sorted(versions, reverse=True)[:keep]
    return sorted(v for v in versions if v not in newest and v not in labelled)


def _sync_tree(path: str) -> None:
    # Data must be on disk before the rename makes it visible: after a crash the version is then
    # complete or absent, never present with empty files.
    for directory, _, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
