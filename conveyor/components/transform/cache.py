"""tf.Transform's analyzer cache as Conveyor keeps it: one dataset key per analysed split of
each Examples artifact, and an updated cache that holds every entry, old and new.

The key names the split, span and version and ends with a digest of the split's data files
(names relative to the split and bytes), so the same data keeps its key whichever artifact
holds it, and changed data never meets a stale entry. (TFX keys by file pattern instead, which
ties the cache to one artifact's location.) Within a dataset, tf.Transform keys each analyzer by
a fingerprint of its part of the graph: a dataset is left unread only when every analyzer of
the current ``preprocessing_fn`` has an entry for it, so after an edit that adds or changes an
analyzer the dataset is read again (tf.Transform still takes the unchanged analyzers' entries).
Analyzers that depend on other analyzers' results (a second analysis phase, e.g. a quantile of
a z-score) need the whole data, so every dataset is read for them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from typing import Any

from conveyor.data.examples import SplitFiles

#: Bytes read at a time when hashing data files.
_CHUNK = 4 << 20


def dataset_key_name(split: str, span: int, version: int, files: SplitFiles) -> str:
    """The dataset key of one split of one Examples artifact (letters, digits, ``.-_`` only,
    as tf.Transform requires)."""
    digest = hashlib.sha256()
    for path in files.files:
        digest.update(os.path.relpath(path, files.directory).encode() + b"\0")
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in split)
    return f"{safe}-span{span}-v{version}-{digest.hexdigest()[:20]}"


def cached_keys(cache_uri: str | None) -> list[str]:
    """The dataset keys with entries in the cache directory ``cache_uri`` (none if None)."""
    if not cache_uri or not os.path.isdir(cache_uri):
        return []
    from tensorflow_transform.beam import analyzer_cache

    keys = []
    for name in sorted(os.listdir(cache_uri)):
        path = os.path.join(cache_uri, name)
        if not os.path.isdir(path):
            continue
        manifest: Any = analyzer_cache._ManifestFile(path)  # the reader tf.Transform writes with
        if manifest.read():
            keys.append(name)
    return keys


def copy_entries(source_uri: str, target_uri: str, keys: Iterable[str]) -> None:
    """Copy the entries of ``keys`` from one cache directory to another, so the updated cache
    also holds what was reused (tf.Transform writes only what it computed, merging it into
    the manifests it finds)."""
    for key in keys:
        shutil.copytree(os.path.join(source_uri, key), os.path.join(target_uri, key),
                        dirs_exist_ok=True)
