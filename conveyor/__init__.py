"""Conveyor: typed ML pipelines with lineage, caching and resume, that run locally, in notebooks,
on Kubeflow Pipelines and on Airflow.

Importing this package is cheap: ML Metadata, TensorFlow, Beam, TFDV, TFMA, Airflow and kfp are
imported only by the executors, stores and compilers that use them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.dsl import (
    Channel,
    Component,
    ExecutionContext,
    ExternalFiles,
    In,
    Input,
    LatestArtifact,
    LatestBlessedModel,
    LatestSpans,
    Out,
    Output,
    Parameter,
    Pipeline,
    PreviousSpan,
    Resolver,
    RuntimeParameter,
    SpanRange,
    component,
)
from conveyor.ir import compile_pipeline
from conveyor.version import __version__

if TYPE_CHECKING:
    from conveyor.orchestrators.local import LocalRunner, RunResult
    from conveyor.orchestrators.notebook import InteractiveContext

_LAZY = {
    "InteractiveContext": "conveyor.orchestrators.notebook",
    "LocalRunner": "conveyor.orchestrators.local",
    "RunResult": "conveyor.orchestrators.local",
}


def __getattr__(name: str) -> Any:
    # Runners pull in the metadata layer; load them on first use, not on `import conveyor`.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'conveyor' has no attribute '{name}'")


__all__ = [
    "Channel",
    "Component",
    "ExecutionContext",
    "ExternalFiles",
    "In",
    "Input",
    "InteractiveContext",
    "LatestArtifact",
    "LatestBlessedModel",
    "LatestSpans",
    "LocalRunner",
    "Out",
    "Output",
    "Parameter",
    "Pipeline",
    "PreviousSpan",
    "Resolver",
    "RunResult",
    "RuntimeParameter",
    "SpanRange",
    "__version__",
    "compile_pipeline",
    "component",
]
