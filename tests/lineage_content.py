"""What two runs of the full penguin pipeline must agree on, artifact type by artifact type.

:func:`conftest.lineage_shape` compares runs on different orchestrators. By default it compares
each output's recorded fingerprint (a hash of its files' bytes), which is right for the
statistics, schema and anomalies: TFDV writes the same bytes for the same data. The model half
of the pipeline does not: a SavedModel holds fresh object ids and timestamps, tfx-bsl writes a
tf.Example's features in per-process map order, Keras training is not bit-reproducible across
processes (thread scheduling reorders float sums even with a seed), and TFMA's metric values
follow the model. So for those types :data:`PIPELINE_CONTENT` compares what is deterministic
given the same data and code: the vocabularies and feature specs, the model's declared inputs
and classes, which metrics were recorded, which slices were evaluated, the verdicts and the
pushed version numbers. The first penguin model is accurate far above the pipeline's 0.8 bound
(1.0 on the eval split with 50 steps), so its verdict does not hang on a rounding difference.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping

from data_helpers import examples_content

from conveyor.metadata.records import CACHED, COMPLETE, ArtifactRecord

#: A function of a stored artifact standing in for its recorded fingerprint.
Content = Callable[[ArtifactRecord], object]
#: The end of a Transform analyzer cache's dataset key (``train-span0-v0-<digest>``).
_DATA_DIGEST = re.compile(r"-[0-9a-f]{20}/")


def _files(uri: str) -> list[str]:
    """Every file under ``uri``, as sorted paths relative to it."""
    return sorted(os.path.relpath(os.path.join(d, f), uri)
                  for d, _, names in os.walk(uri) for f in names)


def _digest(uri: str, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\n".encode())
        with open(os.path.join(uri, name), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def _json(path: str) -> object:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def examples(artifact: ArtifactRecord) -> object:
    """The records, parsed (see :func:`data_helpers.examples_content`)."""
    return examples_content(artifact.uri)


def transform_graph(artifact: ArtifactRecord) -> object:
    """The raw and transformed schemas and the vocabularies (the analysis results a string
    feature depends on); not the SavedModel, whose bytes hold fresh object ids."""
    kept = [n for n in _files(artifact.uri)
            if n.startswith(("metadata/", "transformed_metadata/", "transform_fn/assets/"))]
    assert "transformed_metadata/schema.pbtxt" in kept, kept
    return {"files": _files(artifact.uri), "analysis": _digest(artifact.uri, kept)}


def transform_cache(artifact: ArtifactRecord) -> object:
    """The cache entries present: dataset keys and entry names, without the digest ending a
    dataset key (of the Examples' file bytes, which differ; see ``examples_content``) and
    without the entries' bytes (pickled accumulators)."""
    return [_DATA_DIGEST.sub("-<data digest>/", name) for name in _files(artifact.uri)]


def model(artifact: ArtifactRecord) -> object:
    """``model_info.json`` (framework, task, label, classes in order, raw inputs) and the
    formats written; not the weights."""
    formats = sorted(n for n in os.listdir(artifact.uri)
                     if os.path.isdir(os.path.join(artifact.uri, n)))
    return {"info": _json(os.path.join(artifact.uri, "model_info.json")), "formats": formats}


def model_run(artifact: ArtifactRecord) -> object:
    """Per epoch, the names of the metrics recorded; and the TensorBoard log directories."""
    records = _json(os.path.join(artifact.uri, "metrics.json"))
    assert isinstance(records, dict)
    logs = os.path.join(artifact.uri, "logs")
    return {"epochs": [sorted(epoch) for epoch in records["epochs"]],
            "logs": sorted(os.listdir(logs)) if os.path.isdir(logs) else []}


def model_evaluation(artifact: ArtifactRecord) -> object:
    """The files TFMA and the report wrote, the main metric, the metric columns and the slices
    evaluated (sorted: the order is by metric value); not the values."""
    report = _json(os.path.join(artifact.uri, "slices.json"))
    assert isinstance(report, dict)
    return {"files": _files(artifact.uri), "main_metric": report["main_metric"],
            "columns": sorted(report["columns"]),
            "slices": sorted(row["slice"] for row in report["rows"]),
            "with_baseline": sorted({bool(row["baseline"]) for row in report["rows"]})}


def verdict(artifact: ArtifactRecord) -> object:
    """A ModelBlessing's or InfraBlessing's files: the verdict's marker (and latency.json)."""
    return _files(artifact.uri)


def pushed_model(artifact: ArtifactRecord) -> object:
    """Whether it was pushed, as which version, whether that version is new, with which labels
    (the destination path differs between runs on different roots)."""
    props = artifact.custom_properties
    return {"pushed": props.get("pushed"), "version": props.get("pushed_version"),
            "new_version": props.get("new_version"), "labels": props.get("labels")}


#: Content functions for every type the full penguin pipeline makes whose bytes differ between
#: equal runs (see the module docstring); pass to :func:`conftest.lineage_shape`.
PIPELINE_CONTENT: Mapping[str, Content] = {
    "Examples": examples,
    "TransformGraph": transform_graph,
    "TransformCache": transform_cache,
    "Model": model,
    "ModelRun": model_run,
    "ModelEvaluation": model_evaluation,
    "ModelBlessing": verdict,
    "InfraBlessing": verdict,
    "PushedModel": pushed_model,
}
#: The data pipeline's: only Examples differ in bytes.
DATA_CONTENT: Mapping[str, Content] = {"Examples": examples}

#: The states of a second run of the full penguin pipeline after a first that blessed its model:
#: the resolver now finds that model, a new input of the Evaluator, so the Evaluator and the
#: Pusher after it run again (the Pusher finds the same model serving already, as version 1,
#: and copies nothing); every other node is reused from cache.
PENGUIN_SECOND_RUN: Mapping[str, str] = {
    **dict.fromkeys(["csv_example_gen", "statistics_gen", "schema_gen", "example_validator",
                     "transform", "trainer", "infra_validator"], CACHED),
    **dict.fromkeys(["latest_blessed_model", "evaluator", "pusher"], COMPLETE)}
