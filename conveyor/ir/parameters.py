"""The runtime parameter values of one run, or of an Airflow DAG's defaults.

Given values (command-line strings are fine: each is coerced to its parameter's declared type)
over the compiled defaults, every value checked against the ``minimum`` of each field it feeds.
The launcher calls this when a run starts (on every orchestrator); the Airflow compiler when it
bakes ``--param`` overrides into a DAG's defaults, so a bad value fails at compile time there.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.dsl.channel import RUNTIME_TYPES, RuntimeParameter
from conveyor.dsl.spec import below_minimum
from conveyor.errors import ConveyorError, did_you_mean
from conveyor.ir.model import PipelineIR


def parameter_values(ir: PipelineIR, given: Mapping[str, Any],
                     error: type[ConveyorError]) -> dict[str, Any]:
    """Every runtime parameter of ``ir`` with its value; a name ``ir`` lacks, a value that is
    not of its type, or one below a field's minimum raises ``error`` naming pipeline (node and
    field) and what to give instead."""
    unknown = sorted(set(given) - set(ir.parameters))
    if unknown:
        valid = ", ".join(ir.parameters) or "(none)"
        raise error(f"pipeline '{ir.name}' has no runtime parameter "
                    f"{', '.join(repr(u) for u in unknown)}."
                    f"{did_you_mean(unknown[0], ir.parameters)} Its parameters: {valid}")
    values: dict[str, Any] = {}
    for name, param in ir.parameters.items():
        declared = RuntimeParameter(name, RUNTIME_TYPES[param.type], param.default)
        try:
            values[name] = declared.coerce(given[name]) if name in given else param.default
        except ValueError as err:
            raise error(f"pipeline '{ir.name}': {err}") from None
    for node in ir.nodes:
        for key, field_value in node.parameters.items():
            if field_value.runtime is None:
                continue
            problem = below_minimum(field_value.minimum, values[field_value.runtime])
            if problem:
                raise error(f"pipeline '{ir.name}' node '{node.id}' field '{key}': runtime "
                            f"parameter '{field_value.runtime}' {problem}; give it a value >= "
                            f"{field_value.minimum}")
    return values


def parameter_minimum(ir: PipelineIR, name: str) -> int | float | None:
    """The smallest value runtime parameter ``name`` may take: the largest minimum among the
    fields it feeds (None when none declares one)."""
    bounds = [p.minimum for node in ir.nodes for p in node.parameters.values()
              if p.runtime == name and p.minimum is not None]
    return max(bounds) if bounds else None
