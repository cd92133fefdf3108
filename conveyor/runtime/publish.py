"""Where outputs are written, and how they are moved into place atomically.

An execution writes each output into a private staging directory next to its final location::

    <root>/<pipeline>/<node>/<output>/.staging-<execution id>/    while the executor runs
    <root>/<pipeline>/<node>/<output>/<execution id>/             after success (one rename)

The rename happens before the artifact is marked LIVE in metadata, and a staging directory is
never the uri of a LIVE artifact, so a failed or killed execution leaves nothing live behind.
"""
from __future__ import annotations

import os
import shutil

from conveyor.errors import PublishError

STAGING_PREFIX = ".staging-"


def output_uri(root: str, pipeline: str, node_id: str, key: str, execution_id: int) -> str:
    """The final directory of output ``key`` of one execution."""
    return os.path.join(root, pipeline, node_id, key, str(execution_id))


def staging_uri(final_uri: str) -> str:
    """The private directory an execution writes ``final_uri`` into before publishing."""
    parent, name = os.path.split(final_uri)
    return os.path.join(parent, f"{STAGING_PREFIX}{name}")


def prepare_staging(final_uri: str) -> str:
    """Create an empty staging directory for ``final_uri`` and return it."""
    staging = staging_uri(final_uri)
    if os.path.exists(staging):
        shutil.rmtree(staging)
    os.makedirs(staging)
    return staging


def promote(staging: str, final_uri: str) -> None:
    """Move a finished staging directory to its final location with a single rename."""
    if os.path.exists(final_uri):
        raise PublishError(f"cannot publish {final_uri}: it already exists (a second execution "
                           f"with the same id?); remove it or start a new run")
    try:
        os.rename(staging, final_uri)
    except OSError as err:
        raise PublishError(f"cannot move {staging} to {final_uri}: {err.strerror}") from err


def discard(path: str) -> None:
    """Remove a staging (or half-published) directory, ignoring one that is already gone."""
    shutil.rmtree(path, ignore_errors=True)
