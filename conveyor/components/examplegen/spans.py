"""Input patterns, spans and versions: which files an ExampleGen reads.

A pattern is a glob relative to ``input_base`` in which ``{SPAN}``, ``{VERSION}``, ``{YYYY}``,
``{MM}`` and ``{DD}`` match digits (as TFX): ``span-{SPAN}/v{VERSION}/*.csv``,
``{YYYY}-{MM}-{DD}/*.csv`` (the span of a date is its number of days since 1970-01-01). Files are
listed through Beam's ``FileSystems``, so ``input_base`` may be on any filesystem Beam reads.

Selection, as TFX's ExampleGen driver does it: the spans are chosen from those present (the latest
by default, or a static or rolling :class:`~conveyor.components.examplegen.options.SpanRange`);
within each span only the files of its latest version are read. With one pattern per split,
every split must offer the same spans and versions.
"""
from __future__ import annotations

import datetime
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.components.examplegen import storage
from conveyor.components.examplegen.options import SpanRange
from conveyor.components.examplegen.storage import is_local
from conveyor.errors import DataError

_TOKEN = re.compile(r"\{(SPAN|VERSION|YYYY|MM|DD)(?::[^}]*)?\}|\*|\?|\[[^\]]*\]")
_GROUP = {"SPAN": r"(?P<SPAN>\d+)", "VERSION": r"(?P<VERSION>\d+)", "YYYY": r"(?P<YYYY>\d{4})",
          "MM": r"(?P<MM>\d{2})", "DD": r"(?P<DD>\d{2})"}


@dataclass(frozen=True)
class InputFile:
    """One matched input file."""

    path: str
    size: int
    span: int
    version: int | None


@dataclass(frozen=True)
class Pattern:
    """A compiled input pattern: the glob that lists candidates, and the regex that parses span
    and version out of a candidate's path relative to ``input_base``."""

    text: str
    glob: str
    regex: re.Pattern[str]
    has_span: bool
    has_version: bool
    has_date: bool

    @staticmethod
    def compile(text: str) -> Pattern:
        """Compile ``text`` (already checked by :func:`~.options.check_pattern`)."""
        glob_parts: list[str] = []
        regex_parts: list[str] = []
        position = 0
        for token in _TOKEN.finditer(text):
            literal = text[position:token.start()]
            glob_parts.append(literal)
            regex_parts.append(re.escape(literal))
            spec = token.group(1)
            if spec:
                glob_parts.append("*")
                regex_parts.append(_GROUP[spec])
            else:
                glob_parts.append(token.group(0))
                regex_parts.append(_wildcard_regex(token.group(0)))
            position = token.end()
        glob_parts.append(text[position:])
        regex_parts.append(re.escape(text[position:]))
        return Pattern(text, "".join(glob_parts), re.compile("".join(regex_parts) + r"\Z"),
                       "{SPAN" in text, "{VERSION" in text, "{YYYY" in text)

    def parse(self, relative: str) -> tuple[int, int | None] | None:
        """``(span, version)`` of a relative path, or None when it does not match."""
        found = self.regex.match(relative)
        if found is None:
            return None
        if self.has_date:
            try:
                day = datetime.date(int(found["YYYY"]), int(found["MM"]), int(found["DD"]))
            except ValueError:
                return None
            span = (day - datetime.date(1970, 1, 1)).days
        else:
            span = int(found["SPAN"]) if self.has_span else 0
        return span, int(found["VERSION"]) if self.has_version else None


def _wildcard_regex(wildcard: str) -> str:
    if wildcard == "*":
        return "[^/]*"
    if wildcard == "?":
        return "[^/]"
    inner = wildcard[1:-1]
    return "[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]"


@dataclass
class Selection:
    """The files chosen for one run: per input group (a split name for split patterns, else
    ``None``), the files of every selected span, in (span, path) order."""

    spans: list[int]
    versions: dict[int, int | None]
    files: dict[str | None, list[InputFile]] = field(default_factory=dict)

    @property
    def latest_span(self) -> int:
        """The highest selected span (the artifact's ``span`` property)."""
        return self.spans[-1]

    @property
    def latest_version(self) -> int:
        """The version of the latest span (0 when patterns have no ``{VERSION}``)."""
        return self.versions[self.latest_span] or 0


def list_files(input_base: str, pattern: Pattern) -> list[InputFile]:
    """Every file under ``input_base`` matching ``pattern``, with its span and version."""
    base = os.path.abspath(input_base) if is_local(input_base) else input_base.rstrip("/")
    if is_local(base) and not os.path.isdir(base):
        raise DataError(f"input_base '{input_base}' is not a directory; point it at the folder "
                        f"holding the input files")
    found: list[InputFile] = []
    for path, size in storage.match(storage.join(base, pattern.glob)):
        parsed = pattern.parse(path[len(base):].lstrip("/"))
        if parsed is not None:
            found.append(InputFile(path, size, *parsed))
    return sorted(found, key=lambda f: (f.span, f.path))


def _choose_spans(present: list[int], chosen: SpanRange | None, where: str) -> list[int]:
    if chosen is None:
        return present[-1:]
    if chosen.rolling:
        candidates = [s for s in present if chosen.start is None or s >= chosen.start]
        if chosen.skip_recent:
            candidates = candidates[:-chosen.skip_recent]
        assert chosen.num_spans is not None
        picked = candidates[-chosen.num_spans:]
    else:
        picked = [s for s in present if (chosen.start is None or s >= chosen.start)
                  and (chosen.end is None or s <= chosen.end)]
        if chosen.start is not None and chosen.end is not None:
            missing = sorted(set(range(chosen.start, chosen.end + 1)) - set(present))
            if missing:
                raise DataError(f"{where}: span {missing[0]} of the static range "
                                f"{chosen.start}..{chosen.end} has no files (spans present: "
                                f"{_describe_spans(present)})")
    if not picked:
        raise DataError(f"{where}: no span matches {chosen.describe()} (spans present: "
                        f"{_describe_spans(present)})")
    return picked


def _describe_spans(spans: list[int]) -> str:
    shown = ", ".join(str(s) for s in spans[:10])
    return shown + (f", ... ({len(spans)} in all)" if len(spans) > 10 else "")


def select(input_base: str, patterns: Mapping[str | None, str],
           span_range: SpanRange | None) -> Selection:
    """Resolve ``patterns`` (input group -> pattern) under ``input_base`` to a
    :class:`Selection`. Raises :class:`~conveyor.errors.DataError` when a pattern matches no
    files, a chosen span has none, or split patterns disagree on spans or versions."""
    per_group: dict[str | None, tuple[list[int], dict[int, int | None], list[InputFile]]] = {}
    for group, text in patterns.items():
        pattern = Pattern.compile(text)
        where = f"pattern '{text}'" + (f" of split '{group}'" if group else "")
        files = list_files(input_base, pattern)
        if not files:
            raise DataError(f"{where} matched no files under input_base '{input_base}'; check "
                            f"the pattern and that the data is there")
        present = sorted({f.span for f in files})
        spans = _choose_spans(present, span_range, where)
        versions: dict[int, int | None] = {}
        chosen: list[InputFile] = []
        for span in spans:
            of_span = [f for f in files if f.span == span]
            latest = max((f.version for f in of_span if f.version is not None), default=None)
            versions[span] = latest
            chosen.extend(f for f in of_span if f.version == latest)
        per_group[group] = (spans, versions, chosen)
    groups = list(per_group)
    first_spans, first_versions, _ = per_group[groups[0]]
    for group in groups[1:]:
        spans, versions, _ = per_group[group]
        if spans != first_spans or versions != first_versions:
            raise DataError(
                f"split '{group}' resolves to spans {_describe(spans, versions)} but split "
                f"'{groups[0]}' to {_describe(first_spans, first_versions)}; every split must "
                f"have files for the same spans and versions")
    return Selection(first_spans, first_versions, {g: v[2] for g, v in per_group.items()})


def _describe(spans: list[int], versions: Mapping[int, int | None]) -> str:
    return ", ".join(f"{s}" + (f" (version {versions[s]})" if versions[s] is not None else "")
                     for s in spans)
