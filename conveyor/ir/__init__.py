"""The compiled, JSON-serialisable pipeline that every runner executes."""
from conveyor.ir.compiler import compile_pipeline
from conveyor.ir.model import (
    SCHEMA_VERSION,
    ArtifactTypeIR,
    ChannelRef,
    FileRef,
    NodeIR,
    ParameterValue,
    PipelineIR,
    RuntimeParameterIR,
    SourceRef,
)

__all__ = [
    "SCHEMA_VERSION", "ArtifactTypeIR", "ChannelRef", "FileRef", "NodeIR", "ParameterValue",
    "PipelineIR", "RuntimeParameterIR", "SourceRef", "compile_pipeline",
]
