"""From TFMA's ``ValidationResult`` to a blessing: BLESSED or NOT_BLESSED, and why.

TFMA checks the thresholds (``metrics_validator``) and writes ``validations.tfrecord``; this
module only words its verdict for people. A failure reads::

    accuracy on slice island=Torgersen, sex=male: 0.217 is below the lower bound 0.9
    auc[Gentoo] on slice Overall: change vs baseline -0.120 (candidate 0.850, baseline 0.970)
        is below the allowed relative change -0.05 (higher is better)

Per-slice metric values come from the evaluation (:class:`SliceMetrics`), so a change failure
can show both models' values. Works on the protos alone (``tensorflow_model_analysis.proto``),
so it can be tested without running TFMA.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Text of a blessing reason when the eval config has no threshold.
NO_THRESHOLDS = "no thresholds configured: blessed by default"
#: Said when a baseline was wired but nothing was resolved for it (no blessed model yet).
NO_BASELINE = "no baseline model (none blessed yet)"


@dataclass(frozen=True)
class Failure:
    """One threshold a slice failed."""

    metric: str
    slice: str
    value: float
    bound: str
    candidate: float | None = None
    baseline: float | None = None

    def describe(self) -> str:
        """One line naming metric, slice, value and the bound it broke."""
        if self.candidate is not None or self.baseline is not None:
            return (f"{self.metric} on slice {self.slice}: change vs baseline {self.value:+.4g} "
                    f"(candidate {_fmt(self.candidate)}, baseline {_fmt(self.baseline)}) "
                    f"{self.bound}")
        return f"{self.metric} on slice {self.slice}: {_fmt(self.value)} {self.bound}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def slice_name(columns_values: Sequence[tuple[str, Any]]) -> str:
    """``island=Torgersen, sex=male``; ``Overall`` for the whole data set."""
    if not columns_values:
        return "Overall"
    parts = []
    for column, value in columns_values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        parts.append(f"{column}={text}")
    return ", ".join(parts)


def _proto_slice(slice_key: Any) -> str:
    pairs = []
    for key in slice_key.single_slice_keys:
        kind = key.WhichOneof("kind")
        pairs.append((key.column, getattr(key, kind) if kind else ""))
    return slice_name(pairs)


def metric_label(name: str, sub_key: Any, classes: Sequence[str] | None) -> str:
    """``auc[Gentoo]`` for a per-class metric (``sub_key`` a proto or None), else the name."""
    if sub_key is None:
        return name
    if sub_key.HasField("class_id"):
        index = sub_key.class_id.value
        label = classes[index] if classes and 0 <= index < len(classes) else f"class {index}"
        return f"{name}[{label}]"
    if sub_key.HasField("top_k"):
        return f"{name}[top {sub_key.top_k.value}]"
    if sub_key.HasField("k"):
        return f"{name}[k={sub_key.k.value}]"
    return name


def _bound(threshold: Any) -> str:
    if threshold.HasField("value_threshold"):
        value = threshold.value_threshold
        lower = value.lower_bound.value if value.HasField("lower_bound") else None
        upper = value.upper_bound.value if value.HasField("upper_bound") else None
        if lower is not None and upper is not None:
            return f"is outside the bounds [{lower:g}, {upper:g}]"
        return (f"is below the lower bound {lower:g}" if lower is not None
                else f"is above the upper bound {upper:g}")
    change = threshold.change_threshold
    higher = change.direction == 2  # MetricDirection.HIGHER_IS_BETTER
    kinds = []
    if change.HasField("relative"):
        kinds.append(f"relative change {change.relative.value:+g}")
    if change.HasField("absolute"):
        kinds.append(f"absolute change {change.absolute.value:+g}")
    return (f"breaks the allowed {' and '.join(kinds)} "
            f"({'higher' if higher else 'lower'} is better)")


SliceMetrics = Mapping[str, Mapping[str, float | None]]
"""Slice name -> metric label -> value, for one model."""


def failures(result: Any, classes: Sequence[str] | None, candidate: SliceMetrics,
             baseline: SliceMetrics) -> list[Failure]:
    """Every failed threshold of TFMA's ``ValidationResult`` ``result``: the whole data set
    first, then slices by their number of features and name; per slice by metric, a value
    threshold before a change threshold. (TFMA's own order varies between runs.)"""
    found: list[Failure] = []
    slices = sorted(result.metric_validations_per_slice,
                    key=lambda p: (len(p.slice_key.single_slice_keys), _proto_slice(p.slice_key)))
    for per_slice in slices:
        where = _proto_slice(per_slice.slice_key)
        in_slice: list[tuple[str, bool, Failure]] = []
        for failure in per_slice.failures:
            key = failure.metric_key
            sub_key = key.sub_key if key.HasField("sub_key") else None
            label = metric_label(key.name, sub_key, classes)
            value = failure.metric_value.double_value.value
            threshold = failure.metric_threshold
            if key.is_diff:
                base = baseline.get(where, {}).get(label)
                bound = _bound(threshold)
                if threshold.change_threshold.HasField("relative") and not base:
                    bound += (": a relative change from a baseline of 0 is undefined, which "
                              "TFMA counts as a failure (use change_absolute for a metric that "
                              "can be 0, such as AUC on a slice holding one class)")
                in_slice.append((label, True, Failure(label, where, value, bound,
                                                      candidate.get(where, {}).get(label), base)))
            else:
                in_slice.append((label, False, Failure(label, where, value, _bound(threshold))))
        found.extend(f for *_, f in sorted(in_slice, key=lambda t: (t[0], t[1])))
    return found


def reason(result: Any, found: Sequence[Failure], *, thresholds: int,
           notes: Sequence[str]) -> tuple[bool, str]:
    """The verdict and its reason: the failures one per line, or why the model passed."""
    lines: list[str] = []
    if thresholds == 0:
        blessed = True
        lines.append(NO_THRESHOLDS)
    elif found:
        blessed = False
        lines.append(f"{len(found)} threshold check{'s' if len(found) != 1 else ''} failed:")
        lines.extend(f"  {f.describe()}" for f in found)
    elif not result.validation_ok:
        blessed = False
        missing = [", ".join([*s.feature_keys, *(f"{k}={v}" for k, v in s.feature_values.items())])
                   or "Overall" for s in result.missing_slices]
        lines.append("TFMA's validation failed: "
                     + (f"slices with thresholds have no examples: {', '.join(missing)}"
                        if missing else "see validations.tfrecord"))
    else:
        blessed = True
        lines.append(f"{thresholds} threshold{'s' if thresholds != 1 else ''} configured, "
                     f"passed on every slice")
    lines.extend(notes)
    return blessed, "\n".join(lines)


def finite(value: Any) -> float | None:
    """A metric value as a float, None when TFMA gave no number (NaN, a plot, a struct)."""
    if isinstance(value, Mapping):
        value = value.get("doubleValue")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
