"""Rendering of notebook results and artifacts: HTML for Jupyter, plain text everywhere else.

Every artifact gets the same core sections: its properties, its files and its lineage. Artifact
types can add sections of their own (statistics, anomalies, evaluations) without touching this
module, in one of two ways:

- a line in :data:`VIEWS`, the table of views shipped with Conveyor's components, resolved
  lazily so that rendering a ``Model`` never imports what a statistics view needs::

      VIEWS = {
          "ExampleStatistics": [("Statistics", "conveyor.components.validate.views:statistics")],
      }

- :func:`register_view` at run time, e.g. from a user's own module.

A view is a function taking the :class:`~conveyor.metadata.ArtifactRecord` and returning an HTML
fragment (or ``None`` to add nothing). The fragment is inserted as is, so a view must escape any
text it takes from data (``html.escape``); everything rendered here is escaped.
"""
from __future__ import annotations

import html
import importlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from conveyor.artifacts import SUMMARY
from conveyor.metadata.records import ArtifactRecord, LineageGraph, LineageRow
from conveyor.runtime.launcher import NodeResult

#: Renders one section of an artifact's HTML view; ``None`` means nothing to show.
ArtifactView = Callable[[ArtifactRecord], "str | None"]

#: Views shipped with Conveyor: artifact type name -> [(section title, "module:function")].
#: Loaded on first use; the data and model components add theirs here.
VIEWS: dict[str, list[tuple[str, str]]] = {
    "ExampleStatistics": [("Statistics", "conveyor.components.validate.views:statistics")],
    "Schema": [("Schema", "conveyor.components.validate.views:schema")],
    "ExampleAnomalies": [("Anomalies", "conveyor.components.validate.views:anomalies")],
    "ModelEvaluation": [("Evaluation", "conveyor.components.evaluator.views:evaluation")],
    "ModelBlessing": [("Blessing", "conveyor.components.evaluator.views:blessing")],
    "InfraBlessing": [("Infra blessing", "conveyor.components.pusher.views:infra_blessing")],
    "HyperParameters": [("Hyperparameters",
                         "conveyor.components.trainer.views:hyperparameters")],
    "Model": [("Model", "conveyor.components.trainer.run_views:model")],
    "ModelRun": [("Training metrics", "conveyor.components.trainer.run_views:model_run")],
}

#: Most files listed per artifact; a larger directory ends with "... and N more".
MAX_FILES = 200

_registered: dict[str, list[tuple[str, ArtifactView]]] = {}

_BOX = ("font-family: var(--jp-ui-font-family, sans-serif); border: 1px solid #d0d7de; "
        "border-radius: 6px; padding: 8px 12px; margin: 6px 0")
_TABLE = "border-collapse: collapse; margin: 4px 0; font-size: 0.95em"
_CELL = "border: 1px solid #e1e4e8; padding: 2px 8px; text-align: left; vertical-align: top"
_STATE_COLOURS = {"COMPLETE": "#1a7f37", "CACHED": "#0969da", "LIVE": "#1a7f37",
                  "FAILED": "#cf222e", "ABANDONED": "#cf222e"}


def register_view(type_name: str, title: str, view: ArtifactView) -> None:
    """Add a section titled ``title``, rendered by ``view``, to every artifact of ``type_name``.

    Registering a title again for the same type replaces the earlier view.
    """
    views = [v for v in _registered.get(type_name, []) if v[0] != title]
    _registered[type_name] = [*views, (title, view)]


def views_for(type_name: str) -> list[tuple[str, ArtifactView]]:
    """The extra sections of an artifact type: shipped ones (from :data:`VIEWS`), then registered
    ones. A shipped view that cannot be loaded renders as an error message instead."""
    found: list[tuple[str, ArtifactView]] = []
    for title, ref in VIEWS.get(type_name, []):
        found.append((title, _load_view(ref)))
    shipped = {title for title, _ in found}
    found.extend(v for v in _registered.get(type_name, []) if v[0] not in shipped)
    return found


def _load_view(ref: str) -> ArtifactView:
    module_name, _, name = ref.partition(":")
    try:
        view: ArtifactView = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        message = f"cannot load the view {ref}: {type(err).__name__}: {err}"
        return lambda artifact: _error(message)
    return view


def format_size(size: int) -> str:
    """A byte count for humans: ``512 B``, ``1.5 KB``, ``3.2 MB``."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class FileListing:
    """The files under an artifact's uri (the first :data:`MAX_FILES`), with their sizes."""

    files: list[tuple[str, int]]
    total_files: int
    total_bytes: int
    exists: bool


def list_files(uri: str, limit: int = MAX_FILES) -> FileListing:
    """The files under ``uri``, relative paths in sorted order."""
    if not os.path.isdir(uri):
        return FileListing([], 0, 0, os.path.exists(uri))
    files: list[tuple[str, int]] = []
    count = total = 0
    for dirpath, dirnames, names in os.walk(uri):
        dirnames.sort()
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            size = os.path.getsize(full)
            count += 1
            total += size
            if len(files) < limit:
                files.append((os.path.relpath(full, uri), size))
    return FileListing(files, count, total, True)


def _describe_row(row: LineageRow) -> str:
    if row.execution is not None:
        e = row.execution
        verb = "produced by" if row.direction == "upstream" else "consumed by"
        return f"{verb} {e.node_id} (execution {e.id}, run {e.run_id}, {e.state})"
    assert row.artifact is not None
    a = row.artifact
    return f"{a.type_name} artifact {a.id} [{a.state}] {a.uri}"


def _property_value(value: object) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


# ---- HTML ------------------------------------------------------------------------------------

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _error(message: str) -> str:
    return f'<div style="color: #cf222e">{_e(message)}</div>'


def _state(state: str) -> str:
    colour = _STATE_COLOURS.get(state, "#57606a")
    return f'<span style="color: {colour}; font-weight: bold">{_e(state)}</span>'


def _table(rows: Iterable[tuple[object, object]], header: tuple[str, str] | None = None,
           raw_values: bool = False) -> str:
    head = ""
    if header is not None:
        head = f'<tr><th style="{_CELL}">{_e(header[0])}</th><th style="{_CELL}">' \
               f'{_e(header[1])}</th></tr>'
    body = "".join(
        f'<tr><td style="{_CELL}"><code>{_e(k)}</code></td>'
        f'<td style="{_CELL}">{v if raw_values else _e(v)}</td></tr>'
        for k, v in rows)
    return f'<table style="{_TABLE}">{head}{body}</table>'


def _section(title: str, body: str, open_: bool = True) -> str:
    return (f'<details{" open" if open_ else ""} style="margin: 4px 0"><summary>'
            f'<b>{_e(title)}</b></summary><div style="margin-left: 1em">{body}</div></details>')


def _files_html(listing: FileListing) -> tuple[str, str]:
    if not listing.exists:
        return "Files", _error("the artifact's directory does not exist (deleted?)")
    title = f"Files ({listing.total_files}, {format_size(listing.total_bytes)})"
    if not listing.files:
        return title, "<i>no files</i>"
    body = _table(((path, format_size(size)) for path, size in listing.files),
                  header=("file", "size"))
    more = listing.total_files - len(listing.files)
    if more:
        body += f"<div>... and {more} more</div>"
    return title, body


def _lineage_html(graphs: dict[str, LineageGraph], artifact_id: int) -> str:
    parts = []
    for direction, graph in graphs.items():
        arrow = "&larr;" if direction == "upstream" else "&rarr;"
        lines = []
        for row in graph.tree(artifact_id, direction):
            text = _e(_describe_row(row))
            lines.append(f'<div style="margin-left: {1.5 * row.depth:.1f}em">{arrow} '
                         f'{text if row.execution else f"<code>{text}</code>"}</div>')
        parts.append(f"<div><b>{_e(direction)}</b>"
                     f"{''.join(lines) or '<div><i>nothing</i></div>'}</div>")
    return "".join(parts)


def artifact_html(artifact: ArtifactRecord, lineage: dict[str, LineageGraph]) -> str:
    """The HTML view of one artifact: header, properties, files, type views, lineage.

    ``lineage`` maps ``"upstream"``/``"downstream"`` to the graphs to draw (either may be absent).
    """
    header = (f'<div><b>{_e(artifact.type_name)}</b> artifact {_e(artifact.id)} '
              f'{_state(artifact.state)}</div><div>uri: <code>{_e(artifact.uri)}</code></div>')
    sections = []
    props = sorted(artifact.properties.items())
    sections.append(_section(f"Properties ({len(props)})",
                             _table((k, _property_value(v)) for k, v in props) if props
                             else "<i>none</i>"))
    custom = sorted(artifact.custom_properties.items())
    if custom:
        sections.append(_section(f"Custom properties ({len(custom)})",
                                 _table((k, _property_value(v)) for k, v in custom),
                                 open_=False))
    sections.append(_section(*_files_html(list_files(artifact.uri))))
    for title, view in views_for(artifact.type_name):
        try:
            body = view(artifact)
        except Exception as err:  # a broken view must not hide the rest of the artifact
            body = _error(f"the {title} view failed: {type(err).__name__}: {err}")
        if body:
            sections.append(_section(title, body))
    if lineage:
        sections.append(_section("Lineage", _lineage_html(lineage, artifact.id)))
    return f'<div class="conveyor-artifact" style="{_BOX}">{header}{"".join(sections)}</div>'


def result_html(result: NodeResult, *, component: str, run_id: str,
                log_tail: str | None = None) -> str:
    """The HTML summary of one node run in a notebook: state, timing, cache and outputs."""
    rows: list[tuple[object, object]] = [
        ("node", _e(result.node_id)),
        ("component", _e(component)),
        ("state", _state(result.state)),
        ("run", _e(run_id)),
        ("execution", _e(result.execution_id)),
        ("duration", _e(f"{result.duration_s:.2f}s")),
    ]
    if result.cached_from is not None:
        rows.append(("cached from", _e(f"execution {result.cached_from}")))
    if result.resolved is not None:
        rows.append(("resolved", _e(result.resolved)))
    if result.error:
        rows.append(("error", _error(result.error)))
    if result.stop_reason is not None:
        rows.append(("stopped the run", _error(result.stop_reason)))
    if result.log_path:
        rows.append(("log", f"<code>{_e(result.log_path)}</code>"))
    for key, artifacts in result.outputs.items():
        described = "<br>".join(f"{_e(a.type_name)} artifact {_e(a.id)}: <code>{_e(a.uri)}</code>"
                                + (f"<br><i>{_e(line)}</i>" if (line := _summary(a)) else "")
                                for a in artifacts)
        rows.append((f"outputs.{key}", described or "<i>none</i>"))
    body = _table(rows, raw_values=True)
    if log_tail:
        body += _section("Log", f'<pre style="white-space: pre-wrap">{_e(log_tail)}</pre>',
                         open_=False)
    return f'<div class="conveyor-result" style="{_BOX}">{body}</div>'


# ---- plain text ------------------------------------------------------------------------------

def artifact_text(artifact: ArtifactRecord, lineage: dict[str, LineageGraph]) -> str:
    """The plain-text view of one artifact (as ``conveyor show ARTIFACT_ID`` prints it)."""
    lines = [f"{artifact.type_name} artifact {artifact.id} [{artifact.state}] {artifact.uri}"]
    for key, value in sorted(artifact.properties.items()):
        lines.append(f"  {key}: {_property_value(value)}")
    for key, value in sorted(artifact.custom_properties.items()):
        lines.append(f"  {key}: {_property_value(value)} (custom)")
    listing = list_files(artifact.uri)
    lines.append(f"files ({listing.total_files}, {format_size(listing.total_bytes)}):")
    lines.extend(f"  {path}  ({format_size(size)})" for path, size in listing.files)
    if listing.total_files > len(listing.files):
        lines.append(f"  ... and {listing.total_files - len(listing.files)} more")
    for direction, graph in lineage.items():
        lines.append(f"{direction}:")
        rows = graph.tree(artifact.id, direction)
        arrow = "<-" if direction == "upstream" else "->"
        lines.extend(f"  {'  ' * row.depth}{arrow} {_describe_row(row)}" for row in rows)
        if not rows:
            lines.append("  (nothing)")
    return "\n".join(lines)


def result_text(result: NodeResult, *, component: str, run_id: str) -> str:
    """The plain-text summary of one node run."""
    lines = [f"{result.node_id} ({component}) {result.state} in {result.duration_s:.2f}s, "
             f"execution {result.execution_id} of run {run_id}"]
    if result.cached_from is not None:
        lines.append(f"  reused execution {result.cached_from}")
    if result.resolved is not None:
        lines.append(f"  resolved: {result.resolved}")
    if result.error:
        lines.append(f"  error: {result.error}")
    if result.stop_reason is not None:
        lines.append(f"  stopped the run: {result.stop_reason}")
    if result.log_path:
        lines.append(f"  log: {result.log_path}")
    for key, artifacts in result.outputs.items():
        for a in artifacts:
            lines.append(f"  outputs.{key}: {a.type_name} artifact {a.id} {a.uri}")
            if line := _summary(a):
                lines.append(f"    {line}")
    return "\n".join(lines)


def _summary(artifact: ArtifactRecord) -> str:
    """The one-line summary its component gave the artifact (as ``conveyor show RUN`` prints
    it), or ``""``."""
    return str(artifact.custom_properties.get(SUMMARY) or "")
