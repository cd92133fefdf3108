"""Artifact types: typed pointers to files, with properties recorded in ML Metadata."""
from conveyor.artifacts.base import (
    ABANDONED,
    DELETED,
    LIVE,
    PENDING,
    Artifact,
    artifact_class,
    registered_types,
)
from conveyor.artifacts.standard import (
    ExampleAnomalies,
    Examples,
    ExampleStatistics,
    HyperParameters,
    InfraBlessing,
    Model,
    ModelBlessing,
    ModelEvaluation,
    ModelRun,
    PushedModel,
    Schema,
    TransformGraph,
)

__all__ = [
    "ABANDONED", "DELETED", "LIVE", "PENDING",
    "Artifact", "artifact_class", "registered_types",
    "ExampleAnomalies", "Examples", "ExampleStatistics", "HyperParameters", "InfraBlessing",
    "Model", "ModelBlessing", "ModelEvaluation", "ModelRun", "PushedModel", "Schema",
    "TransformGraph",
]
