"""Looking at statistics, schemas and anomalies: text for the CLI, HTML for notebooks and files.

Pure functions of an artifact's directory; they read protos with ``tensorflow_metadata`` only
(no TFDV, no TensorFlow), so ``conveyor show`` stays fast. Entry points:

- :func:`render_text` / :func:`render_html` ``(type_name, uri)``: the view of an
  ``ExampleStatistics``, ``Schema`` or ``ExampleAnomalies`` artifact, ``None`` for other types;
- :func:`statistics`, :func:`schema`, :func:`anomalies` ``(artifact)``: HTML fragments for the
  notebook view table (anything with a ``uri``, such as an ``ArtifactRecord``);
- :func:`statistics_page`: the ``stats.html`` StatisticsGen writes per split.

Statistics views show per feature: type, count of examples having it, missing %, and either
mean / std / min / max / zeros (numbers) or unique count and top values (strings). Anomalies
views list split, feature, severity and TFDV's description, then the drift and skew measured.
Every text taken from data is escaped in HTML.
"""
from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from conveyor.data import layout

_TABLE = "border-collapse: collapse; margin: 4px 0 12px; font-size: 0.92em"
_CELL = "border: 1px solid #e1e4e8; padding: 2px 8px; text-align: left; vertical-align: top"
_NUM_CELL = _CELL.replace("text-align: left", "text-align: right")
_TOP_VALUES = 5
#: Markers around TFDV's fragment in stats.html, so notebooks can embed it.
_FACETS_BEGIN, _FACETS_END = "<!-- tfdv:begin -->", "<!-- tfdv:end -->"


class HasUri(Protocol):
    """An artifact as the notebook views pass it."""

    @property
    def uri(self) -> str: ...


@dataclass
class FeatureSummary:
    """One feature of one split, as the views show it."""

    name: str
    type: str
    count: int
    missing_pct: float
    numeric: tuple[float, float, float, float, int] | None  # mean, std, min, max, zeros
    unique: int | None
    top: list[tuple[str, float]]

    @property
    def is_numeric(self) -> bool:
        """Whether this feature has numeric statistics."""
        return self.numeric is not None


def summarize(stats: statistics_pb2.DatasetFeatureStatisticsList
              ) -> tuple[int, list[FeatureSummary]]:
    """Number of examples and per-feature summaries of the default slice of ``stats``."""
    if not stats.datasets:
        return 0, []
    dataset = stats.datasets[0]
    total = dataset.num_examples
    features = []
    for feature in dataset.features:
        name = ".".join(feature.path.step) or feature.name
        kind = statistics_pb2.FeatureNameStatistics.Type.Name(feature.type)
        stats_kind = feature.WhichOneof("stats")
        numeric = None
        unique = None
        top: list[tuple[str, float]] = []
        if stats_kind == "num_stats":
            n = feature.num_stats
            common = n.common_stats
            numeric = (n.mean, n.std_dev, n.min, n.max, n.num_zeros)
        elif stats_kind == "string_stats":
            s = feature.string_stats
            common = s.common_stats
            unique = s.unique
            top = [(v.value, v.frequency) for v in s.top_values[:_TOP_VALUES]]
        elif stats_kind == "bytes_stats":
            common = feature.bytes_stats.common_stats
            unique = feature.bytes_stats.unique
        else:
            common = feature.struct_stats.common_stats
        missing = common.num_missing / total * 100 if total else 0.0
        features.append(FeatureSummary(name, kind, common.num_non_missing, missing, numeric,
                                       unique, top))
    return total, features


def _number(value: float) -> str:
    return f"{value:.5g}"


def _top(top: list[tuple[str, float]]) -> str:
    return ", ".join(f"{value} ({frequency:g})" for value, frequency in top)


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                right: Sequence[int] = ()) -> str:
    head = "".join(f"<th style='{_CELL}'>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='{_NUM_CELL if i in right else _CELL}'>"
                         f"{html.escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table style='{_TABLE}'><tr>{head}</tr>{body}</table>"


_NUMERIC_HEADER = ("feature", "type", "count", "missing", "mean", "std", "min", "max", "zeros")
_CATEGORICAL_HEADER = ("feature", "type", "count", "missing", "unique", "top values")


def _feature_tables(features: list[FeatureSummary]
                    ) -> list[tuple[Sequence[str], list[list[str]], Sequence[int]]]:
    numeric = [[f.name, f.type, str(f.count), f"{f.missing_pct:.1f}%",
                *(_number(v) for v in f.numeric[:4]), str(f.numeric[4])]
               for f in features if f.numeric is not None]
    other = [[f.name, f.type, str(f.count), f"{f.missing_pct:.1f}%",
              "" if f.unique is None else str(f.unique), _top(f.top)]
             for f in features if f.numeric is None]
    tables: list[tuple[Sequence[str], list[list[str]], Sequence[int]]] = []
    if numeric:
        tables.append((_NUMERIC_HEADER, numeric, range(2, 9)))
    if other:
        tables.append((_CATEGORICAL_HEADER, other, (2, 3, 4)))
    return tables


def statistics_text(uri: str) -> str:
    """Per split, a table of numeric and one of categorical features."""
    lines: list[str] = []
    for split in layout.splits_on_disk(uri):
        total, features = summarize(layout.read_statistics(uri, split))
        lines.append(f"split '{split}': {total} examples, {len(features)} features")
        for header, rows, right in _feature_tables(features):
            lines.extend(_text_table(header, rows, right))
    return "\n".join(lines) or f"no statistics under {uri}"


def statistics_html(uri: str, facets: bool = True) -> str:
    """Per split, the feature tables as HTML, then (``facets``) TFDV's Facets Overview taken
    from the split's ``stats.html``, as TFX's notebook shows statistics."""
    parts = []
    for split in layout.splits_on_disk(uri):
        parts.append(_split_summary_html(split, layout.read_statistics(uri, split)))
        if facets:
            parts.append(_facets_fragment(uri, split))
    return "".join(parts) or f"<p>No statistics under {html.escape(uri)}</p>"


def _facets_fragment(uri: str, split: str) -> str:
    path = os.path.join(layout.split_dir(uri, split), layout.STATISTICS_HTML)
    try:
        with open(path, encoding="utf-8") as f:
            page = f.read()
    except OSError:
        return ""
    begin, end = page.find(_FACETS_BEGIN), page.find(_FACETS_END)
    return page[begin + len(_FACETS_BEGIN):end] if 0 <= begin < end else ""


def _split_summary_html(split: str, stats: statistics_pb2.DatasetFeatureStatisticsList) -> str:
    total, features = summarize(stats)
    tables = "".join(_html_table(h, r, right) for h, r, right in _feature_tables(features))
    return (f"<h4>Split {html.escape(split)}: {total} examples, {len(features)} "
            f"features</h4>{tables}")


def statistics_page(split: str, stats: statistics_pb2.DatasetFeatureStatisticsList,
                    facets_html: str) -> str:
    """The ``stats.html`` of one split: the summary tables (no script, works offline) and
    TFDV's Facets Overview (``facets_html``; it loads Facets' scripts from the web)."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Statistics of split {html.escape(split)}</title></head>"
        "<body style='font-family: sans-serif'>"
        f"{_split_summary_html(split, stats)}"
        "<h4>TFDV Facets Overview</h4>"
        "<p style='color: #57606a'>Interactive view by TFDV; its scripts load from the web.</p>"
        f"\n{_FACETS_BEGIN}\n{facets_html}\n{_FACETS_END}\n</body></html>\n"
    )


@dataclass
class Finding:
    """One anomaly of one split."""

    split: str
    feature: str
    severity: str
    description: str


def findings(split: str, anomalies: anomalies_pb2.Anomalies) -> list[Finding]:
    """The anomalies of one split as rows, dataset-level ones named ``(dataset)``."""
    rows = []
    infos = sorted(anomalies.anomaly_info.items())
    if anomalies.HasField("dataset_anomaly_info"):
        infos.append(("(dataset)", anomalies.dataset_anomaly_info))
    for feature, info in infos:
        description = info.description or "; ".join(r.description for r in info.reason)
        severity = anomalies_pb2.AnomalyInfo.Severity.Name(info.severity)
        rows.append(Finding(split, feature, severity, description))
    if anomalies.data_missing:
        rows.append(Finding(split, "(dataset)", "ERROR", "the split has no data"))
    return rows


_MEASURES = {"L_INFTY": "L-infinity", "JENSEN_SHANNON_DIVERGENCE": "Jensen-Shannon",
             "NORMALIZED_ABSOLUTE_DIFFERENCE": "normalized abs. difference"}


def measurements(split: str, anomalies: anomalies_pb2.Anomalies) -> list[list[str]]:
    """Drift and skew measured on one split: split, feature, check, measure, value,
    threshold."""
    rows = []
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        for check, measured in (("drift", info.drift_measurements),
                                ("skew", info.skew_measurements)):
            for m in measured:
                kind = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(m.type)
                rows.append([split, feature, check, _MEASURES.get(kind, kind),
                             _number(m.value), _number(m.threshold)])
    return rows


_ANOMALY_HEADER = ("split", "feature", "severity", "description")
_MEASURE_HEADER = ("split", "feature", "check", "measure", "value", "threshold")


def _anomaly_tables(uri: str) -> tuple[list[str], list[Finding], list[list[str]]]:
    splits = layout.splits_on_disk(uri)
    found: list[Finding] = []
    measured: list[list[str]] = []
    for split in splits:
        anomalies = layout.read_anomalies(uri, split)
        found.extend(findings(split, anomalies))
        measured.extend(measurements(split, anomalies))
    return splits, found, measured


def _anomaly_headline(splits: list[str], found: list[Finding]) -> str:
    bad = sorted({f.split for f in found})
    if not found:
        return f"no anomalies in {', '.join(splits) or '(no splits)'}"
    clean = [s for s in splits if s not in bad]
    return (f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'} in "
            f"{', '.join(bad)}" + (f"; none in {', '.join(clean)}" if clean else ""))


def anomalies_text(uri: str) -> str:
    """A headline, the anomalies table and the drift/skew measurements table."""
    splits, found, measured = _anomaly_tables(uri)
    lines = [_anomaly_headline(splits, found)]
    if found:
        lines.extend(_text_table(_ANOMALY_HEADER, [[f.split, f.feature, f.severity,
                                                    f.description] for f in found]))
    if measured:
        lines.append("drift and skew measured:")
        lines.extend(_text_table(_MEASURE_HEADER, measured, (4, 5)))
    return "\n".join(lines)


def anomalies_html(uri: str) -> str:
    """:func:`anomalies_text` as HTML."""
    splits, found, measured = _anomaly_tables(uri)
    colour = "#cf222e" if found else "#1a7f37"
    parts = [f"<p style='color: {colour}'>{html.escape(_anomaly_headline(splits, found))}</p>"]
    if found:
        parts.append(_html_table(_ANOMALY_HEADER, [[f.split, f.feature, f.severity,
                                                    f.description] for f in found]))
    if measured:
        parts.append("<p>Drift and skew measured:</p>"
                     + _html_table(_MEASURE_HEADER, measured, (4, 5)))
    return "".join(parts)


_SCHEMA_HEADER = ("feature", "type", "presence", "valency", "domain")


def _schema_rows(schema: schema_pb2.Schema) -> list[list[str]]:
    domains = {d.name: list(d.value) for d in schema.string_domain}
    rows = []
    for feature in schema.feature:
        presence = "required" if feature.presence.min_fraction >= 1.0 else "optional"
        if feature.HasField("shape"):
            valency = "[" + ", ".join(str(d.size) for d in feature.shape.dim) + "]"
        elif feature.HasField("value_count"):
            valency = f"{feature.value_count.min}..{feature.value_count.max or 'any'}"
        else:
            valency = ""
        values = domains.get(feature.domain) or list(feature.string_domain.value)
        domain = ", ".join(values[:10]) + (f", ... ({len(values)})" if len(values) > 10 else "")
        rows.append([feature.name, schema_pb2.FeatureType.Name(feature.type), presence,
                     valency, domain])
    return rows


def schema_text(uri: str) -> str:
    """The schema's features: type, presence, valency (or shape) and string domain."""
    schema = layout.read_schema(uri)
    return "\n".join([f"{len(schema.feature)} features",
                      *_text_table(_SCHEMA_HEADER, _schema_rows(schema))])


def schema_html(uri: str) -> str:
    """:func:`schema_text` as HTML."""
    return _html_table(_SCHEMA_HEADER, _schema_rows(layout.read_schema(uri)))


_TEXT: dict[str, Callable[[str], str]] = {
    "ExampleStatistics": statistics_text, "Schema": schema_text,
    "ExampleAnomalies": anomalies_text,
}
_HTML: dict[str, Callable[[str], str]] = {
    "ExampleStatistics": statistics_html, "Schema": schema_html,
    "ExampleAnomalies": anomalies_html,
}


def render_text(type_name: str, uri: str) -> str | None:
    """The text view of an artifact of ``type_name`` at ``uri``; None for types shown
    elsewhere."""
    view = _TEXT.get(type_name)
    return None if view is None else view(uri)


def render_html(type_name: str, uri: str) -> str | None:
    """The HTML fragment of an artifact of ``type_name`` at ``uri``; None for types shown
    elsewhere."""
    view = _HTML.get(type_name)
    return None if view is None else view(uri)


def statistics(artifact: HasUri) -> str | None:
    """Notebook view of an ExampleStatistics artifact."""
    return statistics_html(artifact.uri)


def schema(artifact: HasUri) -> str | None:
    """Notebook view of a Schema artifact."""
    return schema_html(artifact.uri)


def anomalies(artifact: HasUri) -> str | None:
    """Notebook view of an ExampleAnomalies artifact."""
    return anomalies_html(artifact.uri)
