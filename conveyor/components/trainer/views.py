"""Looking at HyperParameters: text for ``conveyor show``, HTML for notebooks.

Pure functions of the artifact's files (``best_hyperparameters.txt``, ``trials.json``), so
showing them imports no learner.
"""
from __future__ import annotations

import html
import json
import os
from typing import Any, Protocol

from conveyor.components.trainer.hyperparameters import (
    TRIALS_FILE,
    read_hyperparameters,
    read_trials,
)
from conveyor.errors import DataError


class ArtifactLike(Protocol):
    """An artifact as the notebook views pass it."""

    @property
    def uri(self) -> str: ...


def _value(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _trial_rows(uri: str) -> tuple[dict[str, Any], list[list[str]]] | None:
    """The trials record and one row per trial (id, status, score, values), or None when the
    hyperparameters were not found by a tuner."""
    if not os.path.isfile(os.path.join(uri, TRIALS_FILE)):
        return None
    record = read_trials(uri)
    rows = [[str(t.get("trial")), str(t.get("status")), _value(t.get("score")),
             json.dumps(t.get("hyperparameters", {}), sort_keys=True)]
            for t in record.get("trials", [])]
    return record, rows


def hyperparameters_text(uri: str) -> str:
    """The best values and, from a tuner, every trial of the HyperParameters at ``uri``."""
    try:
        best = read_hyperparameters(uri)
    except DataError as err:
        return f"unreadable: {err}"
    lines = [f"best: {json.dumps(best, sort_keys=True)}"]
    trials = _trial_rows(uri)
    if trials is None:
        return lines[0]
    record, rows = trials
    lines.append(f"{len(rows)} trials ranked by {record.get('metric') or '?'} "
                 f"({record.get('direction') or '?'}); best trial {record.get('best_trial')}")
    widths = [max(len(r[i]) for r in [["trial", "status", "score", ""], *rows])
              for i in range(3)]
    for row in [["trial", "status", "score", "hyperparameters"], *rows]:
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths,
                                                                        strict=False))
                     + "  " + row[3])
    return "\n".join(lines)


def render_text(type_name: str, uri: str) -> str | None:
    """``conveyor show``'s view of a ``HyperParameters`` artifact; None for other types."""
    return hyperparameters_text(uri) if type_name == "HyperParameters" else None


def hyperparameters(artifact: ArtifactLike) -> str | None:
    """The notebook section of a ``HyperParameters`` artifact: best values, trials table."""
    if not os.path.isdir(artifact.uri):
        return None
    try:
        best = read_hyperparameters(artifact.uri)
    except DataError as err:
        return f"<div>{html.escape(str(err))}</div>"
    parts = [f"<div><b>best</b>: <code>{html.escape(json.dumps(best, sort_keys=True))}"
             f"</code></div>"]
    trials = _trial_rows(artifact.uri)
    if trials is not None:
        record, rows = trials
        best_trial = str(record.get("best_trial"))
        bold = ' style="font-weight: bold"'
        body = "".join(
            f"<tr{bold if row[0] == best_trial else ''}>"
            + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in rows)
        metric = html.escape(f"{record.get('metric')} ({record.get('direction')})")
        parts.append(f"<table><tr><th>trial</th><th>status</th><th>{metric}</th>"
                     f"<th>hyperparameters</th></tr>{body}</table>")
    return "".join(parts)
