"""Content fingerprints of artifact directories and of external input files."""
from __future__ import annotations

import glob
import hashlib
import os

from conveyor.dsl.source import file_sha256


def _walk_files(top: str) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        found.extend(os.path.join(dirpath, name) for name in sorted(filenames))
    return found


def tree_fingerprint(path: str) -> str:
    """SHA-256 over the relative names and contents of every file under ``path`` (a file or a
    directory). Equal trees give equal fingerprints wherever they live."""
    digest = hashlib.sha256()
    if os.path.isfile(path):
        digest.update(b"file\0" + file_sha256(path).encode())
        return digest.hexdigest()
    for full in _walk_files(path):
        rel = os.path.relpath(full, path)
        digest.update(rel.encode() + b"\0" + file_sha256(full).encode() + b"\n")
    return digest.hexdigest()


def external_fingerprint(spec: str) -> str:
    """Fingerprint of the data a parameter names: a file, a directory, or a glob pattern.

    Names matching nothing fingerprint as ``missing:<spec>``, so the node still runs and its
    executor reports the missing input in its own words.
    """
    if any(ch in spec for ch in "*?["):
        matches = sorted(glob.glob(spec, recursive=True))
    else:
        matches = [spec] if os.path.exists(spec) else []
    if not matches:
        return f"missing:{spec}"
    digest = hashlib.sha256()
    for match in matches:
        digest.update(os.path.abspath(match).encode() + b"\0" + tree_fingerprint(match).encode())
    return digest.hexdigest()
