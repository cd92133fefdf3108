"""The per-slice report written into a ModelEvaluation: ``slices.json``, ``report.html``,
``slices.png``.

:class:`Summary` is the evaluation as people read it: one row per slice with the candidate's
metrics (per-class metrics labelled ``auc[Gentoo]``), the baseline's where there is one, and
the thresholds the slice failed; rows sorted worst first by the main metric (the first metric
with a value threshold, else ``accuracy``, else the first metric that is not a count). It is
stored as ``slices.json``, so the CLI and notebook views read it without TFMA. ``report.html``
is a self-contained table; ``slices.png`` a bar chart of the main metric per slice (matplotlib,
Agg backend, imported only to draw it), with the value threshold as a line.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

SUMMARY_FILE = "slices.json"
REPORT_FILE = "report.html"
PLOT_FILE = "slices.png"
#: Slices drawn in slices.png (the worst ones); the table lists every slice.
MAX_PLOTTED = 40

_TABLE = "border-collapse: collapse; margin: 4px 0 12px; font-size: 0.92em"
_CELL = "border: 1px solid #e1e4e8; padding: 2px 8px; text-align: left; vertical-align: top"
_NUM_CELL = _CELL.replace("text-align: left", "text-align: right")
_FAILED = "background: #ffebe9"


@dataclass
class SliceRow:
    """One slice: its name, the candidate's and baseline's metrics, its failed thresholds."""

    slice: str
    metrics: dict[str, float | None]
    baseline: dict[str, float | None] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """An evaluation, per slice, worst first (see the module docstring)."""

    main_metric: str
    higher_is_better: bool
    columns: list[str]
    rows: list[SliceRow]
    blessed: bool
    reason: str
    model: str = ""
    baseline_model: str = ""
    main_bound: float | None = None

    def save(self, uri: str) -> str:
        """Write ``slices.json`` into ``uri``; returns its path."""
        path = os.path.join(uri, SUMMARY_FILE)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=1)
        return path

    @classmethod
    def load(cls, uri: str) -> Summary:
        """Read ``slices.json`` from an evaluation directory."""
        with open(os.path.join(uri, SUMMARY_FILE), encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
        rows = [SliceRow(**row) for row in data.pop("rows")]
        return cls(rows=rows, **data)


def sort_worst_first(rows: list[SliceRow], metric: str, higher_is_better: bool) -> list[SliceRow]:
    """Rows ordered worst first by ``metric``; slices without a value for it go last."""
    def key(row: SliceRow) -> tuple[int, float]:
        value = row.metrics.get(metric)
        if value is None:
            return (1, 0.0)
        return (0, value if higher_is_better else -value)
    return sorted(rows, key=key)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.4f}"


def table_html(summary: Summary, limit: int | None = None) -> str:
    """The per-slice table as an HTML fragment (every text escaped); failed slices tinted."""
    rows = summary.rows if limit is None else summary.rows[:limit]
    head = "".join(f"<th style='{_CELL}'>{html.escape(c)}</th>"
                   for c in ["slice", *summary.columns, "failed thresholds"])
    body = []
    for row in rows:
        cells = [f"<td style='{_CELL}'>{html.escape(row.slice)}</td>"]
        for column in summary.columns:
            text = _number(row.metrics.get(column))
            if column in row.baseline:
                base = _number(row.baseline[column])
                text += f" <span style='color:#57606a'>(base {base})</span>"
            cells.append(f"<td style='{_NUM_CELL}'>{text}</td>")
        failed = "<br>".join(html.escape(f) for f in row.failures)
        cells.append(f"<td style='{_CELL}'>{failed}</td>")
        style = f" style='{_FAILED}'" if row.failures else ""
        body.append(f"<tr{style}>{''.join(cells)}</tr>")
    more = ""
    if limit is not None and len(summary.rows) > limit:
        more = f"<p>... and {len(summary.rows) - limit} more slices</p>"
    return (f"<table style='{_TABLE}'><tr>{head}</tr>{''.join(body)}</table>{more}")


def verdict_html(summary: Summary) -> str:
    """The blessing and its reason as an HTML fragment."""
    colour = "#1a7f37" if summary.blessed else "#cf222e"
    word = "BLESSED" if summary.blessed else "NOT BLESSED"
    return (f"<p><b style='color:{colour}'>{word}</b></p>"
            f"<pre style='white-space: pre-wrap'>{html.escape(summary.reason)}</pre>")


def page_html(summary: Summary) -> str:
    """``report.html``: verdict, models, the plot and the table."""
    models = f"model: {summary.model}"
    if summary.baseline_model:
        models += f"<br>baseline: {summary.baseline_model}"
    order = "lowest" if summary.higher_is_better else "highest"
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Model evaluation</title>"
        "</head><body style='font-family: sans-serif'>"
        f"<h1>Model evaluation</h1>{verdict_html(summary)}<p>{html.escape(models)}</p>"
        f"<h2>Slices, worst first ({order} {html.escape(summary.main_metric)} first)</h2>"
        f"<img src='{PLOT_FILE}' alt='{html.escape(summary.main_metric)} per slice'>"
        f"{table_html(summary)}</body></html>\n")


def plot_png(summary: Summary, path: str) -> None:
    """Draw the main metric per slice (the :data:`MAX_PLOTTED` worst) as horizontal bars, the
    baseline's value on each slice as a marker, and the value threshold as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary.rows if r.metrics.get(summary.main_metric) is not None]
    rows = rows[:MAX_PLOTTED][::-1]
    figure, axes = plt.subplots(figsize=(8, 1.2 + 0.3 * max(len(rows), 1)))
    try:
        draw_slices(axes, summary, rows)
        figure.tight_layout()
        figure.savefig(path, dpi=80, bbox_inches="tight")
    finally:
        plt.close(figure)


def draw_slices(axes: Any, summary: Summary, rows: list[SliceRow]) -> None:
    """Draw ``rows`` (bottom to top) on matplotlib ``axes``: see :func:`plot_png`."""
    metric = summary.main_metric
    names = [r.slice for r in rows]
    axes.barh(names, [float(r.metrics[metric] or 0.0) for r in rows],
              color=["#cf222e" if r.failures else "#0969da" for r in rows])
    with_baseline = [r for r in rows if r.baseline.get(metric) is not None]
    if with_baseline:
        axes.scatter([float(r.baseline[metric] or 0.0) for r in with_baseline],
                     [r.slice for r in with_baseline], marker="D", color="#24292f", zorder=3,
                     label="baseline")
    if summary.main_bound is not None:
        axes.axvline(summary.main_bound, color="#57606a", linestyle="--",
                     label=f"threshold {summary.main_bound:g}")
    if with_baseline or summary.main_bound is not None:
        # Right of the plot: inside, it would cover the bars of the best slices.
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    axes.set_xlabel(metric)
    axes.set_title(f"{metric} per slice (red: failed a threshold)")


def write_report(uri: str, summary: Summary) -> None:
    """Write ``slices.json``, ``report.html`` and ``slices.png`` into ``uri``."""
    summary.save(uri)
    with open(os.path.join(uri, REPORT_FILE), "w", encoding="utf-8") as f:
        f.write(page_html(summary))
    plot_png(summary, os.path.join(uri, PLOT_FILE))
