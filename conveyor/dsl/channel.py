"""Channels (typed outputs of nodes) and runtime parameters (values chosen when a run starts)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from conveyor.artifacts import Artifact
from conveyor.errors import DefinitionError, ParameterTypeError

if TYPE_CHECKING:
    from conveyor.dsl.component import Component

A = TypeVar("A", bound=Artifact)


class Channel(Generic[A]):
    """One output of one node, consumed as an input by later nodes.

    A channel is only ever made by its producer (``node.outputs.model``); wiring it into another
    node's input makes the consumer depend on the producer.
    """

    def __init__(self, producer: Component, key: str, artifact_type: type[A]) -> None:
        self.producer = producer
        self.key = key
        self.artifact_type = artifact_type

    @property
    def producer_id(self) -> str:
        """The id of the producing node (read live: ids can change until the pipeline is built)."""
        return self.producer.id

    def __repr__(self) -> str:
        return f"Channel({self.producer_id}.{self.key}: {self.artifact_type.TYPE_NAME})"


_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: JSON-compatible types a runtime parameter may have.
RUNTIME_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class RuntimeParameter:
    """A pipeline-level value set when a run starts, without recompiling.

    Pass it wherever a component takes a parameter of the same type::

        lr = RuntimeParameter("learning_rate", float, default=0.01)
        Trainer(..., learning_rate=lr)

    The local runner sets it with ``conveyor run --param learning_rate=0.1``; the Kubeflow and
    Airflow compilers expose it as a pipeline parameter / DAG param.
    """

    name: str
    type: type
    default: Any = None
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not _PARAM_NAME.match(self.name):
            raise DefinitionError(
                f"RuntimeParameter name {self.name!r} is not an identifier; "
                f"use letters, digits and underscores"
            )
        if self.type not in RUNTIME_TYPES.values():
            raise DefinitionError(
                f"RuntimeParameter '{self.name}' has type {self.type!r}; "
                f"use one of {', '.join(RUNTIME_TYPES)}"
            )
        default = self.default
        is_bool = isinstance(default, bool)
        if default is not None and not (
            (isinstance(default, self.type) and not (self.type is int and is_bool))
            or (self.type is float and isinstance(default, int) and not is_bool)
        ):
            raise ParameterTypeError(
                f"RuntimeParameter '{self.name}' has type {self.type_name} but its default is "
                f"{type(default).__name__} {default!r}; give a default of type {self.type_name}"
            )

    @property
    def type_name(self) -> str:
        """The JSON name of the type (``int``, ``float``, ``str``, ``bool``)."""
        return self.type.__name__

    def coerce(self, raw: Any) -> Any:
        """Convert a value given at run time (often a string from a command line) to the type."""
        if isinstance(raw, str) and self.type is not str:
            if self.type is bool:
                if raw.lower() in ("true", "1", "yes"):
                    return True
                if raw.lower() in ("false", "0", "no"):
                    return False
            else:
                try:
                    return self.type(raw)
                except ValueError:
                    pass
            raise ValueError(
                f"runtime parameter '{self.name}' expects {self.type_name}, got {raw!r}"
            )
        if self.type is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if not isinstance(raw, self.type) or (self.type is int and isinstance(raw, bool)):
            raise ValueError(
                f"runtime parameter '{self.name}' expects {self.type_name}, "
                f"got {type(raw).__name__} {raw!r}"
            )
        return raw
