"""The Beam pipeline options executors run with: the run's ``beam_args``, and a default runner.

With no ``--runner``, Beam picks its DirectRunner, which in the pinned Beam 2.72 first tries the
Prism runner: it downloads a Go binary from GitHub (on every pipeline where none is cached; here,
offline, the download fails at name resolution), starts it as a separate job server, and only
falls back to the in-process FnApiRunner when that fails. On the penguin pipeline that
attempt cost ~1.5 s per Beam pipeline here, and where it succeeds the work leaves the process.
So when ``beam_args`` choose no runner, Conveyor asks for the ``FnApiRunner`` by name: the
runner the DirectRunner uses for batch work, honouring the same ``--direct_num_workers`` and
``--direct_running_mode`` options. An explicit ``--runner`` (DirectRunner included) is kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The runner used when ``beam_args`` name none: Beam's in-process portable runner.
IN_PROCESS_RUNNER = "FnApiRunner"


def with_default_runner(beam_args: Sequence[str]) -> list[str]:
    """``beam_args``, plus ``--runner=FnApiRunner`` when they name no runner."""
    if any(arg == "--runner" or arg.startswith("--runner=") for arg in beam_args):
        return list(beam_args)
    return [f"--runner={IN_PROCESS_RUNNER}", *beam_args]


def pipeline_options(beam_args: Sequence[str]) -> Any:
    """``PipelineOptions`` for ``beam_args`` with the default runner (imports Beam)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    return PipelineOptions(with_default_runner(beam_args))
