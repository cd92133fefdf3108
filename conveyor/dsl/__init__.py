"""The pipeline definition language: components, channels, parameters and pipelines."""
from typing import TYPE_CHECKING, TypeVar

from conveyor.dsl.channel import Channel
from conveyor.dsl.component import Component
from conveyor.dsl.context import ExecutionContext
from conveyor.dsl.fields import ExternalFiles, In, Input, Out, Output, Parameter
from conveyor.dsl.function import component
from conveyor.dsl.pipeline import Pipeline
from conveyor.dsl.resolver import (
    LatestArtifact,
    LatestBlessedModel,
    LatestSpans,
    PreviousSpan,
    Resolver,
    SpanRange,
)

if TYPE_CHECKING:
    _T = TypeVar("_T")

    def RuntimeParameter(
        name: str, type: type[_T], default: _T | None = None, description: str = ""
    ) -> _T:
        """To a type checker a runtime parameter stands for a value of its type, as a kfp
        pipeline parameter does, so ``Trainer(steps=RuntimeParameter("steps", int))`` checks.
        At run time this is :class:`conveyor.dsl.channel.RuntimeParameter`."""
else:
    from conveyor.dsl.channel import RuntimeParameter

__all__ = [
    "Channel", "Component", "ExecutionContext", "ExternalFiles", "In", "Input", "LatestArtifact",
    "LatestBlessedModel", "LatestSpans", "Out", "Output", "Parameter", "Pipeline", "PreviousSpan",
    "Resolver", "RuntimeParameter", "SpanRange", "component",
]
