"""ExampleValidator's executor: ``tfdv.validate_statistics`` per split, with drift and skew.

The pipeline's thresholds are written into a copy of the schema, as TFDV reads them: for each
feature, ``drift_comparator`` / ``skew_comparator`` with an ``infinity_norm`` (L-infinity,
categorical features), ``jensen_shannon_divergence`` (numeric and categorical) or
``normalized_abs_difference`` threshold. Comparators already in a curated schema are kept unless
the pipeline sets the same one. Then, per split:

- ``statistics`` are validated against the schema;
- with ``baseline_statistics``, the split of the same name there is the ``previous_statistics``
  (drift); a split the baseline lacks is validated without drift (logged), and so is every
  split when the baseline is wired to a resolver that found none (the first span); custom
  property ``drift_measured`` (1/0) says which happened;
- for ``skew_split`` with ``serving_statistics``, the serving split of the same name (or the only
  serving split) is the ``serving_statistics`` (skew).

TFDV reports a distance above its threshold as an anomaly of that feature, and records every
distance measured in ``drift_skew_info``; the views show both.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from conveyor.artifacts import ExampleAnomalies, ExampleStatistics, Schema
from conveyor.components.validate.views import Finding, findings
from conveyor.data import layout
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError, StopRun, did_you_mean

#: Anomalies listed in a stop message before "... and N more".
MAX_LISTED = 10


def with_thresholds(schema: schema_pb2.Schema, drift: Mapping[str, Mapping[str, float]],
                    skew: Mapping[str, Mapping[str, float]]) -> schema_pb2.Schema:
    """A copy of ``schema`` with the drift and skew thresholds set on its features.

    Raises :class:`DataError` for a feature the schema does not have.
    """
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    features = {f.name: f for f in result.feature}
    for field, thresholds in (("drift_comparator", drift), ("skew_comparator", skew)):
        check = field.split("_")[0]
        for name, comparators in thresholds.items():
            if name not in features:
                raise DataError(
                    f"{check} threshold for feature '{name}', which the schema does not "
                    f"have.{did_you_mean(name, features)} Schema features: "
                    f"{', '.join(features) or '(none)'}")
            comparator = getattr(features[name], field)
            for kind, threshold in comparators.items():
                getattr(comparator, kind).threshold = threshold
    return result


def _serving_split(serving: ExampleStatistics, split: str) -> str:
    splits = layout.split_names(serving)
    if split in splits:
        return split
    if len(splits) == 1:
        return splits[0]
    raise DataError(f"serving statistics at {serving.uri} have splits {', '.join(splits)}; "
                    f"to compare with split '{split}' they need a split of that name or "
                    f"exactly one split")


def _drift_splits(splits: list[str], baseline: ExampleStatistics | None,
                  drift: Mapping[str, Mapping[str, float]],
                  context: ExecutionContext) -> set[str]:
    if baseline is None:
        if drift:
            # Wired to a resolver (e.g. PreviousSpan) that found nothing: the first span.
            context.logger.warning("no baseline statistics (e.g. no previous span yet): drift "
                                   "not measured")
        return set()
    available = set(layout.split_names(baseline))
    common = {s for s in splits if s in available}
    if not common:
        raise DataError(f"baseline statistics at {baseline.uri} have splits "
                        f"{', '.join(sorted(available)) or '(none)'}, none of the validated "
                        f"splits {', '.join(splits)}; drift is measured between splits of the "
                        f"same name")
    for split in sorted(set(splits) - common):
        context.logger.warning("split %s: no baseline split of that name, drift not measured",
                               split)
    return common


def validate(*, statistics: ExampleStatistics, schema: Schema, anomalies: ExampleAnomalies,
             drift: dict[str, dict[str, float]], skew: dict[str, dict[str, float]],
             skew_split: str, exclude_splits: list[str], on_anomalies: str,
             context: ExecutionContext, baseline_statistics: ExampleStatistics | None = None,
             serving_statistics: ExampleStatistics | None = None) -> None:
    """Executor of ExampleValidator; raises :class:`StopRun` after writing the anomalies when
    some are found and ``on_anomalies`` is ``"stop"``. Unwired optional inputs are not
    passed by the launcher, hence their defaults."""
    splits = layout.select_splits(statistics, exclude_splits, "statistics")
    if serving_statistics is not None and skew_split not in splits:
        raise DataError(f"skew_split '{skew_split}' is not among the validated splits "
                        f"({', '.join(splits)}); set skew_split to one of them")
    checked = with_thresholds(layout.read_schema(schema.uri), drift, skew)
    drift_splits = _drift_splits(splits, baseline_statistics, drift, context)
    found: list[Finding] = []
    per_split: dict[str, int] = {}
    for split in splits:
        previous: statistics_pb2.DatasetFeatureStatisticsList | None = None
        serving: statistics_pb2.DatasetFeatureStatisticsList | None = None
        if baseline_statistics is not None and split in drift_splits:
            previous = layout.read_statistics(baseline_statistics.uri, split)
        if serving_statistics is not None and split == skew_split:
            serving = layout.read_statistics(serving_statistics.uri,
                                             _serving_split(serving_statistics, split))
        result = tfdv.validate_statistics(
            layout.read_statistics(statistics.uri, split), checked,
            previous_statistics=previous, serving_statistics=serving)
        layout.write_anomalies(anomalies.uri, split, result)
        split_findings = findings(split, result)
        per_split[split] = len(split_findings)
        found.extend(split_findings)
    anomalies.span = statistics.span
    anomalies.split_names = splits
    anomalies.custom_properties["anomaly_count"] = len(found)
    anomalies.custom_properties["drift_measured"] = int(bool(drift_splits))
    anomalies.custom_properties["anomalies_per_split"] = json.dumps(per_split, sort_keys=True)
    if not found:
        context.logger.info("no anomalies in %s", ", ".join(splits))
        return
    message = describe(found)
    if on_anomalies == "stop":
        raise StopRun(f"{message}\nThey are published as this node's 'anomalies' output "
                      f"(conveyor show <its artifact id>). To let the run go on despite "
                      f"anomalies, set on_anomalies='warn' on node '{context.node_id}'")
    context.logger.warning("%s\non_anomalies='warn': the run goes on", message)


def describe(found: list[Finding]) -> str:
    """One line per anomaly (at most :data:`MAX_LISTED`) naming its split, feature, severity
    and TFDV's description, under a count."""
    count = f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'} found:"
    listed = [f"  split '{f.split}' feature '{f.feature}' ({f.severity}): "
              + " ".join(f.description.split()) for f in found[:MAX_LISTED]]
    if len(found) > MAX_LISTED:
        listed.append(f"  ... and {len(found) - MAX_LISTED} more")
    return "\n".join([count, *listed])
