"""Looking at evaluations and blessings: text for ``conveyor show``, HTML for notebooks.

Pure functions of an artifact's directory and properties; they read the report's
``slices.json`` (no TFMA, no TensorFlow), so ``conveyor show`` stays fast.

- :func:`render_text` ``(type_name, uri)``: for a ``ModelEvaluation``, the verdict and the
  :data:`WORST` worst slices by the main metric; for a ``ModelBlessing``, the verdict file;
- :func:`evaluation` / :func:`blessing` ``(artifact)``: HTML fragments for the notebook view.
"""
from __future__ import annotations

import base64
import html
import os
from typing import Protocol

from conveyor.components.evaluator.report import (
    PLOT_FILE,
    SUMMARY_FILE,
    Summary,
    table_html,
    verdict_html,
)

#: Slices listed by the text view.
WORST = 10
_BLESSED, _NOT_BLESSED = "BLESSED", "NOT_BLESSED"


class ArtifactLike(Protocol):
    """An artifact as the notebook views pass it."""

    @property
    def uri(self) -> str: ...

    @property
    def custom_properties(self) -> dict[str, str | int | float | bool]: ...


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def evaluation_text(uri: str, limit: int = WORST) -> str:
    """The verdict, then the worst ``limit`` slices with the main metric and example count."""
    if not os.path.isfile(os.path.join(uri, SUMMARY_FILE)):
        return f"no {SUMMARY_FILE} in {uri}: not written by Conveyor's Evaluator"
    summary = Summary.load(uri)
    lines = [f"{'BLESSED' if summary.blessed else 'NOT BLESSED'}", *(
        f"  {line}" for line in summary.reason.splitlines())]
    order = "lowest" if summary.higher_is_better else "highest"
    lines.append(f"\nWorst slices ({order} {summary.main_metric} first; "
                 f"{len(summary.rows)} slices):")
    width = max((len(r.slice) for r in summary.rows[:limit]), default=5)
    lines.append(f"  {'slice':<{width}}  {summary.main_metric:>12}  {'examples':>8}  baseline")
    for row in summary.rows[:limit]:
        base = row.baseline.get(summary.main_metric) if row.baseline else None
        count = row.metrics.get("example_count")
        flag = "  FAILED" if row.failures else ""
        lines.append(f"  {row.slice:<{width}}  {_value(row.metrics.get(summary.main_metric)):>12}"
                     f"  {_value(count):>8}  {_value(base) if row.baseline else '':>8}{flag}")
    if len(summary.rows) > limit:
        lines.append(f"  ... and {len(summary.rows) - limit} more (report.html lists all)")
    lines.append(f"\nreport: {os.path.join(uri, 'report.html')}")
    return "\n".join(lines)


def blessing_text(uri: str) -> str:
    """Which verdict file the blessing holds."""
    for name in (_BLESSED, _NOT_BLESSED):
        if os.path.isfile(os.path.join(uri, name)):
            return f"verdict: {name} (the reason is the 'reason' property above)"
    return f"no {_BLESSED} or {_NOT_BLESSED} file in {uri}"


def render_text(type_name: str, uri: str) -> str | None:
    """The text view of a ``ModelEvaluation`` or ``ModelBlessing``; None for other types."""
    if type_name == "ModelEvaluation":
        return evaluation_text(uri)
    if type_name == "ModelBlessing":
        return blessing_text(uri)
    return None


def evaluation(artifact: ArtifactLike) -> str | None:
    """Notebook view of a ModelEvaluation: verdict, plot (inlined) and the per-slice table."""
    if not os.path.isfile(os.path.join(artifact.uri, SUMMARY_FILE)):
        return None
    summary = Summary.load(artifact.uri)
    image = ""
    plot = os.path.join(artifact.uri, PLOT_FILE)
    if os.path.isfile(plot):
        with open(plot, "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        image = (f"<img alt='{html.escape(summary.main_metric)} per slice' "
                 f"src='data:image/png;base64,{data}'>")
    return f"{verdict_html(summary)}{image}{table_html(summary)}"


def blessing(artifact: ArtifactLike) -> str | None:
    """Notebook view of a ModelBlessing: the verdict and its reason."""
    blessed = artifact.custom_properties.get("blessed")
    if blessed is None:
        return None
    colour, word = ("#1a7f37", "BLESSED") if int(blessed) else ("#cf222e", "NOT BLESSED")
    reason = str(artifact.custom_properties.get("reason", ""))
    return (f"<p><b style='color:{colour}'>{word}</b></p>"
            f"<pre style='white-space: pre-wrap'>{html.escape(reason)}</pre>")
