"""Declarations of the data validation components (cheap to import: no TFDV, no TensorFlow).

::

    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)          # or ImportSchemaGen(...)
    check = ExampleValidator(
        statistics=stats.outputs.statistics, schema=schema.outputs.schema,
        baseline_statistics=PreviousSpan(current=stats.outputs.statistics)
            .outputs.statistics,                                    # drift vs. the last span
        drift={"colour": {"infinity_norm": 0.1}, "size": {"jensen_shannon_divergence": 0.1}},
        serving_statistics=serving_stats.outputs.statistics,        # skew vs. serving data
        skew={"colour": {"infinity_norm": 0.2}},
        on_anomalies="stop",                                        # or "warn"
    )

The executors live in :mod:`.statistics`, :mod:`.schema` and :mod:`.anomalies`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from conveyor.artifacts import ExampleAnomalies, Examples, ExampleStatistics, Schema
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import ArgumentError, ParameterTypeError, did_you_mean

#: Distances TFDV compares distributions with; per feature, a threshold for one or both.
#: ``infinity_norm`` (L-infinity) works on categorical features, ``jensen_shannon_divergence``
#: on numeric and categorical ones, ``normalized_abs_difference`` on categorical counts.
COMPARATORS = ("infinity_norm", "jensen_shannon_divergence", "normalized_abs_difference")

#: Per feature, comparator name -> threshold: ``{"colour": {"infinity_norm": 0.1}}``.
Thresholds = dict[str, dict[str, float]]


class StatisticsGen(Component):
    """Computes TFDV statistics (``DatasetFeatureStatisticsList``) of every split of Examples.

    ``engine="auto"`` computes in process when the run's Beam options keep the work on this
    machine (no runner or the DirectRunner, not ``multi_processing``) and on Beam with
    ``tfdv.GenerateStatistics`` otherwise; both give the same statistics. ``"in_process"`` and
    ``"beam"`` force one. Each split also gets ``stats.html``.
    """

    examples: Channel[Examples] = Input(description="the data to describe")
    exclude_splits: list[str] = Parameter(default=[], description="splits to skip")
    engine: Literal["auto", "in_process", "beam"] = Parameter(
        default="auto", description="'auto', 'in_process' or 'beam'")
    statistics: Channel[ExampleStatistics] = Output()
    executor = "conveyor.components.validate.statistics:run"


class SchemaGen(Component):
    """Infers a schema from statistics with ``tfdv.infer_schema``, merging every split that is
    not excluded (``tfdv.update_schema``)."""

    statistics: Channel[ExampleStatistics] = Input()
    infer_feature_shape: bool = Parameter(
        default=True, description="infer fixed shapes of features always present")
    exclude_splits: list[str] = Parameter(default=[], description="splits not to learn from")
    schema: Channel[Schema] = Output()
    executor = "conveyor.components.validate.schema:infer"


class ImportSchemaGen(Component):
    """Publishes a curated schema (a text-format ``tensorflow.metadata.v0.Schema`` file).

    The file's content is recorded when the pipeline is compiled and is part of the cache key,
    so editing it re-runs this node and everything downstream.
    """

    schema_file: str = Parameter(module_file=True, description="path of the schema.pbtxt")
    schema: Channel[Schema] = Output()
    executor = "conveyor.components.validate.schema:import_schema"


class ExampleValidator(Component):
    """Validates statistics against a schema with ``tfdv.validate_statistics``.

    Per split: schema anomalies; drift against ``baseline_statistics`` (the split of the same
    name, e.g. the previous span's ``train``, found in metadata by a
    :class:`~conveyor.dsl.resolver.PreviousSpan` resolver; when it finds none, as on the first
    span, drift is not measured and the log says so) for the features in ``drift``; skew of the
    ``skew_split`` split against ``serving_statistics`` for the features in ``skew``. A
    threshold is per feature and comparator, see :data:`COMPARATORS`; comparators already in
    the schema (e.g. a curated one) apply too. Writes TFDV ``Anomalies``
    per split. When anomalies are found, ``on_anomalies="stop"`` (default) publishes them and
    stops the run before any downstream node; ``"warn"`` logs them and lets the run go on.
    """

    statistics: Channel[ExampleStatistics] = Input()
    schema: Channel[Schema] = Input()
    baseline_statistics: Channel[ExampleStatistics] | None = Input(
        default=None, description="statistics of earlier data, for drift")
    serving_statistics: Channel[ExampleStatistics] | None = Input(
        default=None, description="statistics of serving data, for skew")
    drift: Thresholds = Parameter(default={}, description="feature -> comparator -> threshold")
    skew: Thresholds = Parameter(default={}, description="feature -> comparator -> threshold")
    skew_split: str = Parameter(default="train", description="split compared with serving")
    exclude_splits: list[str] = Parameter(default=[], description="splits not to validate")
    on_anomalies: Literal["stop", "warn"] = Parameter(default="stop",
                                                      description="'stop' or 'warn'")
    anomalies: Channel[ExampleAnomalies] = Output()
    executor = "conveyor.components.validate.anomalies:validate"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            self._check_comparisons()

    def _check_comparisons(self) -> None:
        """Refuse thresholds without the statistics to compare with. (Statistics without
        thresholds are fine: a curated schema may carry its own comparators.)"""
        for field, data in (("drift", "baseline_statistics"), ("skew", "serving_statistics")):
            thresholds = self.parameters[field]
            if isinstance(thresholds, RuntimeParameter):
                continue
            self._check_thresholds(field, thresholds)
            if thresholds and self.inputs[data] is None:
                raise ArgumentError(
                    f"ExampleValidator '{self.id}': {field} thresholds are set but "
                    f"'{data}' is not wired; pass {data}=<statistics_gen>.outputs.statistics")

    def _check_thresholds(self, field: str, thresholds: Thresholds) -> None:
        for feature, comparators in thresholds.items():
            where = f"ExampleValidator.{field} (node '{self.id}') feature '{feature}'"
            if not comparators:
                raise ParameterTypeError(f"{where}: no threshold given; use one of "
                                         f"{', '.join(COMPARATORS)}")
            for name, threshold in comparators.items():
                if name not in COMPARATORS:
                    raise ParameterTypeError(
                        f"{where}: unknown comparator '{name}'.{did_you_mean(name, COMPARATORS)}"
                        f" Use one of {', '.join(COMPARATORS)}")
                if threshold < 0:
                    raise ParameterTypeError(f"{where}: {name} threshold must be >= 0, got "
                                             f"{threshold}")
