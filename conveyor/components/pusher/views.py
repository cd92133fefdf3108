"""Looking at infra blessings: text for ``conveyor show``, HTML for notebooks.

Pure functions of the artifact's directory (the verdict file and ``latency.json``); no
TensorFlow or gRPC, so ``conveyor show`` stays fast. A ``PushedModel`` needs no view of its own:
everything it records is in the custom properties that ``show`` already prints.
"""
from __future__ import annotations

import html
import json
import os
from typing import Any, Protocol


class ArtifactLike(Protocol):
    """An artifact as the notebook views pass it."""

    @property
    def uri(self) -> str: ...


def infra_text(uri: str) -> str:
    """The verdict and the latency figures of the InfraBlessing at ``uri``."""
    verdict = ("INFRA_BLESSED" if os.path.exists(os.path.join(uri, "INFRA_BLESSED"))
               else "INFRA_NOT_BLESSED")
    report = _latency(uri)
    if not report or not report.get("requests"):
        return f"{verdict}: no request was answered"
    load = f", model loaded in {report['load_s']:.2f} s" if report.get("load_s") else ""
    return (f"{verdict}: {report['requests']} requests of {report['examples_per_request']} "
            f"example(s) answered; latency p50 {report['p50_ms']:.2f} ms, p99 "
            f"{report['p99_ms']:.2f} ms, max {report['max_ms']:.2f} ms{load}\n"
            f"  via {report['protocol']}")


def render_text(type_name: str, uri: str) -> str | None:
    """``conveyor show``'s view of an ``InfraBlessing``; None for other types."""
    return infra_text(uri) if type_name == "InfraBlessing" else None


def infra_blessing(artifact: ArtifactLike) -> str | None:
    """The notebook section of an ``InfraBlessing``."""
    if not os.path.isdir(artifact.uri):
        return None
    blessed = os.path.exists(os.path.join(artifact.uri, "INFRA_BLESSED"))
    colour = "#1a7f37" if blessed else "#cf222e"
    lines = infra_text(artifact.uri).splitlines()
    rest = "".join(f"<div>{html.escape(line.strip())}</div>" for line in lines[1:])
    return f'<div style="color: {colour}">{html.escape(lines[0])}</div>{rest}'


def _latency(uri: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(uri, "latency.json"), encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    return data
