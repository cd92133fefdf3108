"""The compiled, JSON-serialisable pipeline that every runner executes."""
from conveyor.ir.compiler import compile_pipeline
from conveyor.ir.model import (
    EXECUTOR,
    READABLE_VERSIONS,
    RESOLVER,
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
    "EXECUTOR", "READABLE_VERSIONS", "RESOLVER", "SCHEMA_VERSION", "ArtifactTypeIR",
    "ChannelRef", "FileRef", "NodeIR", "ParameterValue",
    "PipelineIR", "RuntimeParameterIR", "SourceRef", "compile_pipeline",
]
