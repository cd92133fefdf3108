"""Looking at Model and ModelRun artifacts: text for ``conveyor show``, HTML for notebooks.

Pure functions of the artifact's files (``model_info.json``, ``metrics.json``), so showing
them imports no learner.
"""
from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from conveyor.components.trainer.run_records import METRICS_FILE, read_metrics
from conveyor.errors import DataError
from conveyor.models.format import MODEL_INFO_FILE, read_model_info


class ArtifactLike(Protocol):
    """An artifact as the notebook views pass it."""

    @property
    def uri(self) -> str: ...


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def metrics_table(epochs: Sequence[Mapping[str, float | None]]) -> list[list[str]]:
    """A header row and one row per epoch: epoch, then every metric in first-seen order."""
    names: list[str] = []
    for epoch in epochs:
        names.extend(n for n in epoch if n != "epoch" and n not in names)
    header = ["epoch", *names]
    return [header, *[[_cell(e.get(n)) for n in header] for e in epochs]]


def model_run_text(uri: str) -> str:
    """The metrics of every epoch of the ModelRun at ``uri``, as an aligned table."""
    if not os.path.isfile(os.path.join(uri, METRICS_FILE)):
        return f"no {METRICS_FILE}"
    try:
        epochs = read_metrics(uri)
    except DataError as err:
        return f"unreadable: {err}"
    if not epochs:
        return "no metrics recorded"
    rows = metrics_table(epochs)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]
    logs = os.path.join(uri, "logs")
    if os.path.isdir(logs):
        lines.append(f"TensorBoard: tensorboard --logdir {logs}")
    return "\n".join(lines)


def model_text(uri: str) -> str:
    """What the Model at ``uri`` predicts and from what (its ``model_info.json``)."""
    if not os.path.isfile(os.path.join(uri, MODEL_INFO_FILE)):
        return f"no {MODEL_INFO_FILE}"
    try:
        info = read_model_info(uri)
    except DataError as err:
        return f"unreadable: {err}"
    lines = [f"{info.framework} {info.task} of '{info.label_key}'"]
    if info.classes:
        lines.append(f"classes: {', '.join(info.classes)}")
    if info.features:
        lines.append("features: " + ", ".join(f"{n} ({k})" for n, k in
                                              sorted(info.features.items())))
    formats = sorted(d for d in os.listdir(uri) if d.startswith("Format-"))
    lines.append(f"formats: {', '.join(formats) or 'none'}")
    return "\n".join(lines)


def render_text(type_name: str, uri: str) -> str | None:
    """``conveyor show``'s view of a ``Model`` or ``ModelRun``; None for other types."""
    if type_name == "ModelRun":
        return model_run_text(uri)
    if type_name == "Model":
        return model_text(uri)
    return None


def model_run(artifact: ArtifactLike) -> str | None:
    """The notebook section of a ``ModelRun``: a table of the metrics of every epoch."""
    if not os.path.isfile(os.path.join(artifact.uri, METRICS_FILE)):
        return None
    try:
        epochs = read_metrics(artifact.uri)
    except DataError as err:
        return f"<div>{html.escape(str(err))}</div>"
    if not epochs:
        return "<div>no metrics recorded</div>"
    header, *rows = metrics_table(epochs)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def model(artifact: ArtifactLike) -> str | None:
    """The notebook section of a ``Model``: its description."""
    if not os.path.isdir(artifact.uri):
        return None
    return f"<pre>{html.escape(model_text(artifact.uri))}</pre>"
