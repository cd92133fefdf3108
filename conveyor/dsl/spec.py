"""Component specs: the typed description of a component's inputs, outputs and parameters.

A spec is built once per component class (from its fields, or from a function's signature) and is
what both the constructor's checks and the IR compiler read.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conveyor.artifacts import Artifact
from conveyor.dsl.fields import MISSING
from conveyor.dsl.source import function_fingerprint
from conveyor.dsl.typecheck import describe


@dataclass(frozen=True)
class InputSpec:
    """A declared input channel."""

    name: str
    type: type[Artifact]
    optional: bool = False
    many: bool = False
    description: str = ""


@dataclass(frozen=True)
class OutputSpec:
    """A declared output artifact."""

    name: str
    type: type[Artifact]
    description: str = ""


@dataclass(frozen=True)
class ParameterSpec:
    """A declared parameter."""

    name: str
    annotation: Any
    default: Any = MISSING
    module_file: bool = False
    external_files: bool = False
    description: str = ""
    minimum: int | float | None = None

    @property
    def required(self) -> bool:
        """Whether the constructor must be given this parameter."""
        return self.default is MISSING

    @property
    def type_name(self) -> str:
        """The annotation, spelled as in Python (``list[int] | None``)."""
        return describe(self.annotation)


def below_minimum(minimum: int | float | None, value: Any) -> str | None:
    """``must be >= {minimum}, got {value}`` when the number ``value`` is below ``minimum``;
    None for a value in range, no minimum, or a value that is not a number (``None``)."""
    if minimum is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"must be >= {minimum}, got {value}" if value < minimum else None


@dataclass(frozen=True)
class SourceInfo:
    """Where a function component's code lives."""

    module: str
    path: str | None
    function: Callable[..., Any]

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the code, computed on each call: only once the function's module has
        finished loading does it hold the helpers and constants defined below the function."""
        return function_fingerprint(self.function)


@dataclass(frozen=True)
class ComponentSpec:
    """Everything the DSL knows about one component type."""

    name: str
    type_name: str
    executor: str
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    outputs: dict[str, OutputSpec] = field(default_factory=dict)
    parameters: dict[str, ParameterSpec] = field(default_factory=dict)
    source: SourceInfo | None = None
    description: str = ""

    def field_names(self) -> list[str]:
        """Every argument name the constructor accepts (inputs, then parameters)."""
        return [*self.inputs, *self.parameters]

    def describe_field(self, name: str) -> str:
        """A short phrase for an argument: ``an input channel of Examples``."""
        if name in self.inputs:
            return f"an input channel of {self.inputs[name].type.TYPE_NAME}"
        if name in self.parameters:
            return f"a parameter of type {self.parameters[name].type_name}"
        return f"an output of {self.outputs[name].type.TYPE_NAME}"


#: Names a component field may not take: they are the component object's own attributes.
RESERVED_NAMES = frozenset(
    {"id", "outputs", "inputs", "parameters", "executor", "after", "with_id", "spec",
     "upstream", "context", "enable_cache", "with_cache", "check_in_pipeline",
     "declared_class"}
)


def snake_case(name: str) -> str:
    """``CsvExampleGen`` -> ``csv_example_gen``: the default node id of a class component."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
