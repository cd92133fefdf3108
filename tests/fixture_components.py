"""Small components whose behaviour the runtime tests control through parameters."""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import time

from conveyor import (
    Component,
    ExecutionContext,
    ExternalFiles,
    In,
    Input,
    Out,
    Output,
    Parameter,
    component,
)
from conveyor.artifacts import SUMMARY, Examples, Model
from conveyor.dsl import Channel
from conveyor.errors import StopRun


def _trace(path: str, event: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "t": time.time()}) + "\n")


def read_value(artifact: Examples | Model) -> int:
    """The integer a fixture component wrote into an artifact."""
    with open(os.path.join(artifact.uri, "value.txt"), encoding="utf-8") as f:
        return int(f.read())


def write_value(artifact: Examples | Model, value: int) -> None:
    """Write an integer into an artifact's directory."""
    with open(os.path.join(artifact.uri, "value.txt"), "w", encoding="utf-8") as f:
        f.write(str(value))


@component
def produce(out: Out[Examples], value: int = 1, sleep_s: float = 0.0, trace: str = "",
            started: str = "") -> None:
    """Write ``value``; optionally sleep, record start/end times, or signal that it started."""
    _trace(trace, "start")
    if started:
        with open(started, "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))
    write_value(out, value)
    time.sleep(sleep_s)
    out.span = value
    out.split_names = ["train", "eval"]
    _trace(trace, "end")


@component
def add(inp: In[Examples], out: Out[Examples], amount: int = 0, require: str = "") -> None:
    """Write the input's value plus ``amount``; fail half-way when ``require`` does not exist."""
    write_value(out, read_value(inp) + amount)
    if require and not os.path.exists(require):
        with open(os.path.join(out.uri, "partial.txt"), "w", encoding="utf-8") as f:
            f.write("half-written")
        raise RuntimeError(f"required file {require} is missing")


@component
def ingest(source: ExternalFiles, out: Out[Examples]) -> None:
    """Copy the integer in the file ``source``."""
    with open(source, encoding="utf-8") as f:
        write_value(out, int(f.read()))


class UserModuleStep(Component):
    """Applies ``transform(value)`` from a user module file to the input's value."""

    examples: Channel[Examples] = Input()
    module_file: str = Parameter(module_file=True)
    result: Channel[Model] = Output()
    executor = "fixture_components:run_user_module"


class Repeat(Component):
    """Writes the input's value times ``times``, a count that must be at least 1."""

    inp: Channel[Examples] = Input()
    times: int = Parameter(default=1, minimum=1)
    out: Channel[Examples] = Output()
    executor = "fixture_components:repeat"


def repeat(inp: Examples, times: int, out: Examples) -> None:
    """Executor of :class:`Repeat`."""
    write_value(out, read_value(inp) * times)


def run_user_module(examples: Examples, module_file: str, result: Model) -> None:
    """Executor of :class:`UserModuleStep`."""
    spec = importlib.util.spec_from_file_location("user_module", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    write_value(result, module.transform(read_value(examples)))


@component
def gate(inp: In[Examples], verdict: Out[Model], stop: bool = False) -> None:
    """Copy the input's value into ``verdict``; with ``stop``, stop the run after writing."""
    write_value(verdict, read_value(inp))
    if stop:
        raise StopRun(f"value {read_value(inp)} did not pass the gate")


@component
def record_beam_args(out: Out[Examples], context: ExecutionContext) -> None:
    """Write the Beam options the node was given."""
    with open(os.path.join(out.uri, "beam_args.json"), "w", encoding="utf-8") as f:
        json.dump(context.beam_args, f)


@component
def warn(out: Out[Examples], note: str = "") -> None:
    """Log ``note`` as a warning on the root logger, as libraries imported by executors do."""
    logging.warning("node says %s", note)
    write_value(out, 1)


@component
def announce(out: Out[Examples], note: str = "") -> None:
    """Set a one-line summary on the output, as executors do for people to read."""
    out.custom_properties[SUMMARY] = f"wrote {note}"
