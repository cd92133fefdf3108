"""ExampleGen parameters, checked and turned into small typed values.

Pure Python: the component declarations call :func:`check_parameters` when a node is built (so a
bad split or span range is reported at the line that built it), and the executor calls the same
parsers again on the values it receives.

Parameters are JSON-like, not TFX protos:

``splits``
    Output splits by hash buckets, ``{"train": 2, "eval": 1}`` (the default when no
    ``split_patterns`` are given): each row goes to the split owning
    ``hash(row) % total_buckets``; see :mod:`conveyor.components.examplegen.splits`.
``partition_feature``
    Hash only this column instead of the whole row, so rows with equal values of it land in
    one split (e.g. all rows of one user).
``split_patterns``
    Separate inputs per split instead, ``{"train": "train/*.csv", "eval": "eval/*.csv"}``;
    excludes ``splits``, ``partition_feature`` and ``pattern``.
``span_range``
    Which spans to read when patterns contain ``{SPAN}`` or ``{YYYY}{MM}{DD}``. ``None``: the
    latest span. Static: ``{"start_span": 3, "end_span": 5}`` (inclusive; for date patterns the
    bounds may be ``"2024-01-31"``). Rolling: ``{"num_spans": 3}``, optionally with
    ``"skip_recent_spans": 1`` and a lower bound ``"start_span"``.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import DefinitionError

#: The output splits when neither ``splits`` nor ``split_patterns`` is given (as TFX).
DEFAULT_SPLITS: dict[str, int] = {"train": 2, "eval": 1}

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SPEC = re.compile(r"\{([A-Za-z]+)(?::[^}]*)?\}")
_KNOWN_SPECS = {"SPAN", "VERSION", "YYYY", "MM", "DD"}
_STATIC_KEYS = {"start_span", "end_span"}
_ROLLING_KEYS = {"num_spans", "skip_recent_spans", "start_span"}
_EPOCH = datetime.date(1970, 1, 1)


@dataclass(frozen=True)
class SpanRange:
    """Which spans to read. ``num_spans is None``: static ``start..end`` (inclusive; ``None``
    bounds are open); otherwise rolling: the ``num_spans`` most recent spans at or after
    ``start``, after skipping the ``skip_recent`` most recent ones."""

    start: int | None = None
    end: int | None = None
    num_spans: int | None = None
    skip_recent: int = 0

    @property
    def rolling(self) -> bool:
        """Whether this is a rolling range."""
        return self.num_spans is not None

    def describe(self) -> str:
        """Human-readable form used in error messages."""
        if self.rolling:
            lower = f" from span {self.start}" if self.start is not None else ""
            return (f"the {self.num_spans} most recent span(s){lower}, skipping "
                    f"{self.skip_recent} most recent")
        return f"spans {self.start}..{self.end}"


@dataclass(frozen=True)
class SplitPlan:
    """How rows are assigned to output splits: either ``buckets`` (name -> hash buckets, in
    order) with an optional ``partition_feature``, or ``patterns`` (name -> input pattern)."""

    buckets: dict[str, int] | None
    partition_feature: str | None
    patterns: dict[str, str] | None

    @property
    def names(self) -> list[str]:
        """The output split names, in order."""
        return list(self.patterns or self.buckets or {})


def span_of_date(text: str) -> int:
    """The span number of a ``YYYY-MM-DD`` date: days since 1970-01-01 (as TFX)."""
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as err:
        raise DefinitionError(f"'{text}' is not a date; write it as YYYY-MM-DD") from err
    return (day - _EPOCH).days


def date_of_span(span: int) -> str:
    """The ``YYYY-MM-DD`` date of a date-pattern span number."""
    return (_EPOCH + datetime.timedelta(days=span)).isoformat()


def check_pattern(where: str, pattern: str) -> None:
    """Refuse unknown ``{...}`` specs and impossible combinations in an input pattern."""
    specs = _SPEC.findall(pattern)
    unknown = sorted(set(specs) - _KNOWN_SPECS)
    if unknown:
        raise DefinitionError(f"{where}: unknown spec {{{unknown[0]}}} in pattern {pattern!r}; "
                              f"use {{SPAN}}, {{VERSION}} or {{YYYY}}{{MM}}{{DD}}")
    for spec in set(specs):
        if specs.count(spec) > 1:
            raise DefinitionError(f"{where}: {{{spec}}} appears more than once in {pattern!r}")
    dates = {"YYYY", "MM", "DD"} & set(specs)
    if dates and len(dates) < 3:
        raise DefinitionError(f"{where}: pattern {pattern!r} must contain all of {{YYYY}}, "
                              f"{{MM}} and {{DD}}, or none")
    if dates and "SPAN" in specs:
        raise DefinitionError(f"{where}: pattern {pattern!r} uses both {{SPAN}} and a date; "
                              f"a date is the span, so use one of them")
    if "VERSION" in specs and not ("SPAN" in specs or dates):
        raise DefinitionError(f"{where}: pattern {pattern!r} has {{VERSION}} without {{SPAN}} "
                              f"or a date; versions are numbered within a span")
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise DefinitionError(f"{where}: pattern {pattern!r} must be relative to input_base")


def parse_span_range(where: str, value: Mapping[str, int | str] | None) -> SpanRange | None:
    """Check a ``span_range`` parameter and return it as a :class:`SpanRange`."""
    if value is None:
        return None
    keys = set(value)

    def bound(key: str) -> int | None:
        raw = value.get(key)
        if raw is None:
            return None
        if isinstance(raw, str):
            return span_of_date(raw)
        if raw < 0:
            raise DefinitionError(f"{where}: {key} must be >= 0, got {raw}")
        return raw

    if "num_spans" in keys:
        extra = keys - _ROLLING_KEYS
        if extra:
            raise DefinitionError(f"{where}: a rolling range takes {sorted(_ROLLING_KEYS)}; "
                                  f"got unexpected {sorted(extra)}")
        num, skip = value["num_spans"], value.get("skip_recent_spans", 0)
        if not isinstance(num, int) or num < 1:
            raise DefinitionError(f"{where}: num_spans must be a positive integer, got {num!r}")
        if not isinstance(skip, int) or skip < 0:
            raise DefinitionError(f"{where}: skip_recent_spans must be an integer >= 0, "
                                  f"got {skip!r}")
        return SpanRange(start=bound("start_span"), num_spans=num, skip_recent=skip)
    if keys != _STATIC_KEYS:
        raise DefinitionError(
            f"{where}: span_range is either static {{'start_span': A, 'end_span': B}} or rolling "
            f"{{'num_spans': N[, 'skip_recent_spans': K][, 'start_span': A]}}; got {dict(value)}")
    start, end = bound("start_span"), bound("end_span")
    if start is not None and end is not None and start > end:
        raise DefinitionError(f"{where}: start_span {start} is after end_span {end}")
    return SpanRange(start=start, end=end)


def parse_splits(where: str, splits: Mapping[str, int] | None,
                 partition_feature: str | None, split_patterns: Mapping[str, str] | None,
                 pattern: str | None) -> SplitPlan:
    """Check the split parameters together and return the :class:`SplitPlan`."""
    if split_patterns is not None:
        if splits is not None or partition_feature is not None:
            raise DefinitionError(f"{where}: split_patterns gives each split its own input; it "
                                  f"cannot be combined with splits or partition_feature")
        if pattern not in (None, "*"):
            raise DefinitionError(f"{where}: give either pattern (one input, split by hash) or "
                                  f"split_patterns (one input per split), not both")
        if not split_patterns:
            raise DefinitionError(f"{where}: split_patterns is empty; name at least one split")
        for name, split_pattern in split_patterns.items():
            _check_split_name(where, name)
            check_pattern(f"{where} split '{name}'", split_pattern)
        return SplitPlan(None, None, dict(split_patterns))
    buckets = dict(DEFAULT_SPLITS if splits is None else splits)
    if not buckets:
        raise DefinitionError(f"{where}: splits is empty; e.g. {DEFAULT_SPLITS}")
    for name, count in buckets.items():
        _check_split_name(where, name)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise DefinitionError(f"{where}: split '{name}' needs a positive number of hash "
                                  f"buckets, got {count!r}")
    if partition_feature is not None and not partition_feature:
        raise DefinitionError(f"{where}: partition_feature is empty; name a column or pass None")
    if pattern is not None:
        check_pattern(where, pattern)
    return SplitPlan(buckets, partition_feature, None)


def _check_split_name(where: str, name: str) -> None:
    if not _SPLIT_NAME.match(name):
        raise DefinitionError(f"{where}: split name {name!r} is not valid; it becomes the "
                              f"directory Split-<name>, so use letters, digits, '_', '-', '.'")


def check_parameters(component: str, parameters: Mapping[str, Any]) -> None:
    """Check an ExampleGen node's parameters when it is built. Values given as runtime
    parameters are checked when the node runs instead."""
    if any(isinstance(v, RuntimeParameter) for v in parameters.values()):
        return
    where = component
    parse_splits(where, parameters.get("splits"), parameters.get("partition_feature"),
                 parameters.get("split_patterns"), parameters.get("pattern"))
    parse_span_range(where, parameters.get("span_range"))
