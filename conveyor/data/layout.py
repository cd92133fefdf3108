"""The files of statistics, schema and anomalies artifacts: finding, reading and writing them.

Light on purpose: only ``tensorflow_metadata`` protos (plain protobuf, ~40 ms to import), so the
CLI and notebook views read artifacts without importing TFDV or TensorFlow. The layouts are
those documented on the artifact classes (:mod:`conveyor.artifacts.standard`)::

    ExampleStatistics  {uri}/Split-{name}/FeatureStats.pb   binary DatasetFeatureStatisticsList
                       {uri}/Split-{name}/stats.html        summary + TFDV's Facets view
    Schema             {uri}/schema.pbtxt                   text tensorflow.metadata.v0.Schema
    ExampleAnomalies   {uri}/Split-{name}/SchemaDiff.pb     binary tensorflow.metadata.v0.Anomalies
"""
from __future__ import annotations

import os
from typing import Protocol

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from conveyor.errors import DataError

STATISTICS_FILE = "FeatureStats.pb"
STATISTICS_HTML = "stats.html"
SCHEMA_FILE = "schema.pbtxt"
ANOMALIES_FILE = "SchemaDiff.pb"
SPLIT_PREFIX = "Split-"


class SplitArtifact(Protocol):
    """What these helpers need of an artifact: its directory and, if recorded, its splits."""

    @property
    def uri(self) -> str: ...


def split_dir(uri: str, split: str) -> str:
    """The directory of ``split`` under an artifact directory."""
    return os.path.join(uri, f"{SPLIT_PREFIX}{split}")


def split_names(artifact: SplitArtifact) -> list[str]:
    """The splits of an artifact: its ``split_names`` property when set, else the ``Split-*``
    directories found under its uri (sorted)."""
    recorded = getattr(artifact, "split_names", None)
    if recorded:
        return list(recorded)
    return splits_on_disk(artifact.uri)


def splits_on_disk(uri: str) -> list[str]:
    """The names of the ``Split-*`` directories under ``uri``, sorted."""
    if not os.path.isdir(uri):
        return []
    return sorted(name[len(SPLIT_PREFIX):] for name in os.listdir(uri)
                  if name.startswith(SPLIT_PREFIX) and os.path.isdir(os.path.join(uri, name)))


def select_splits(artifact: SplitArtifact, exclude: list[str], what: str) -> list[str]:
    """The splits of ``artifact`` minus ``exclude``; a :class:`DataError` if none remain.

    ``what`` names the artifact in the message (e.g. ``"statistics"``).
    """
    splits = split_names(artifact)
    chosen = [s for s in splits if s not in exclude]
    if not chosen:
        raise DataError(
            f"{what} at {artifact.uri} has no split to use: its splits are "
            f"{', '.join(splits) or '(none)'} and exclude_splits is {exclude}. Remove a split "
            f"from exclude_splits, or check that the upstream node wrote Split-* directories"
        )
    return chosen


def _read_binary(path: str, what: str) -> bytes:
    if not os.path.isfile(path):
        raise DataError(f"{what}: {path} does not exist. Is the artifact of another type, or "
                        f"was the split excluded when it was made?")
    with open(path, "rb") as f:
        return f.read()


def read_statistics(uri: str, split: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The statistics of ``split`` in the ExampleStatistics artifact at ``uri``."""
    path = os.path.join(split_dir(uri, split), STATISTICS_FILE)
    message = statistics_pb2.DatasetFeatureStatisticsList()
    message.ParseFromString(_read_binary(path, f"statistics of split '{split}'"))
    return message


def write_statistics(uri: str, split: str,
                     statistics: statistics_pb2.DatasetFeatureStatisticsList) -> str:
    """Write the statistics of ``split`` under ``uri``; returns the file written."""
    os.makedirs(split_dir(uri, split), exist_ok=True)
    path = os.path.join(split_dir(uri, split), STATISTICS_FILE)
    with open(path, "wb") as f:
        f.write(statistics.SerializeToString())
    return path


def read_schema(uri: str) -> schema_pb2.Schema:
    """The schema in the Schema artifact at ``uri``."""
    return read_schema_file(os.path.join(uri, SCHEMA_FILE))


def read_schema_file(path: str) -> schema_pb2.Schema:
    """A text-format ``tensorflow.metadata.v0.Schema`` file; errors name the file and line."""
    if not os.path.isfile(path):
        raise DataError(f"schema file {path} does not exist")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as err:
        raise DataError(f"{path}: not a text-format tensorflow.metadata.v0.Schema: {err}. "
                        f"Write it with tfdv.write_schema_text or fix that line") from err


def write_schema(uri: str, schema: schema_pb2.Schema) -> str:
    """Write ``schema`` as ``{uri}/schema.pbtxt``; returns the file written."""
    os.makedirs(uri, exist_ok=True)
    path = os.path.join(uri, SCHEMA_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(schema))
    return path


def read_anomalies(uri: str, split: str) -> anomalies_pb2.Anomalies:
    """The anomalies of ``split`` in the ExampleAnomalies artifact at ``uri``."""
    path = os.path.join(split_dir(uri, split), ANOMALIES_FILE)
    message = anomalies_pb2.Anomalies()
    message.ParseFromString(_read_binary(path, f"anomalies of split '{split}'"))
    return message


def write_anomalies(uri: str, split: str, anomalies: anomalies_pb2.Anomalies) -> str:
    """Write the anomalies of ``split`` under ``uri``; returns the file written."""
    os.makedirs(split_dir(uri, split), exist_ok=True)
    path = os.path.join(split_dir(uri, split), ANOMALIES_FILE)
    with open(path, "wb") as f:
        f.write(anomalies.SerializeToString())
    return path
