"""Files on any filesystem Beam knows (local paths, ``gs://``, ``s3://``, ``hdfs://``).

Everything ExampleGen reads or writes goes through here, so an artifact or ``input_base`` on
object storage works with a distributed runner. Beam's own transparent compression is always
off: ExampleGen detects gzip itself, and TensorFlow's TFRecord writer and reader do the gzip.
"""
from __future__ import annotations

import os
import shutil
from typing import IO, Any


def _filesystems() -> Any:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def _uncompressed() -> Any:
    from apache_beam.io.filesystem import CompressionTypes

    return CompressionTypes.UNCOMPRESSED


def is_local(path: str) -> bool:
    """Whether ``path`` is on the local filesystem (no ``scheme://``)."""
    return "://" not in path


def open_read(path: str) -> IO[bytes]:
    """Open ``path`` for reading, bytes as stored."""
    handle: IO[bytes] = _filesystems().open(path, compression_type=_uncompressed())
    return handle


def create(path: str) -> IO[bytes]:
    """Open ``path`` for writing (creating local parent directories), bytes as given."""
    if is_local(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    handle: IO[bytes] = _filesystems().create(path, compression_type=_uncompressed())
    return handle


def match(pattern: str) -> list[tuple[str, int]]:
    """``(path, size)`` of every file matching the glob ``pattern`` (local directories left
    out)."""
    found = []
    for result in _filesystems().match([pattern]):
        for meta in result.metadata_list:
            if is_local(meta.path) and os.path.isdir(meta.path):
                continue
            found.append((str(meta.path), int(meta.size_in_bytes)))
    return found


def join(base: str, *parts: str) -> str:
    """``base/part/...`` on ``base``'s filesystem."""
    return str(_filesystems().join(base, *parts))


def rename(sources: list[str], targets: list[str]) -> None:
    """Move each source to its target (local target directories are created)."""
    for target in targets:
        if is_local(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
    if sources:
        _filesystems().rename(sources, targets)


def remove_tree(path: str) -> None:
    """Delete ``path`` and everything under it, if it exists."""
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
    elif _filesystems().exists(path):
        _filesystems().delete([path])
