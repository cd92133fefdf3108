"""The Beam options executors run with: the in-process FnApiRunner unless the run names one."""
from __future__ import annotations

import logging

import pytest

from conveyor.runtime.beam_options import pipeline_options, with_default_runner


@pytest.mark.parametrize("args, expected", [
    ([], ["--runner=FnApiRunner"]),
    (["--direct_num_workers=2"], ["--runner=FnApiRunner", "--direct_num_workers=2"]),
    (["--runner=DirectRunner"], ["--runner=DirectRunner"]),
    (["--runner", "FlinkRunner", "--flink_master=x:1"],
     ["--runner", "FlinkRunner", "--flink_master=x:1"]),
    (["--runner_v2"], ["--runner=FnApiRunner", "--runner_v2"]),  # not a runner choice
])
def test_a_runner_is_added_only_when_none_is_chosen(args: list[str],
                                                    expected: list[str]) -> None:
    assert with_default_runner(args) == expected


def test_default_pipeline_runs_in_process_without_trying_prism(
        caplog: pytest.LogCaptureFixture) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.testing.util import assert_that, equal_to

    options = pipeline_options(["--direct_num_workers=1"])
    assert options.view_as(StandardOptions).runner == "FnApiRunner"
    with caplog.at_level(logging.INFO), beam.Pipeline(options=options) as pipeline:
        doubled = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2)
        assert_that(doubled, equal_to([2, 4, 6]))

    assert not [r for r in caplog.records if "Prism" in r.getMessage()]


def test_statistics_treat_the_default_runner_as_in_process() -> None:
    from conveyor.components.validate.statistics import runs_in_process

    assert runs_in_process(with_default_runner([]))
    assert not runs_in_process(["--runner=FlinkRunner"])
