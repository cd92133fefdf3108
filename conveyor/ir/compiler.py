"""Compiling a :class:`~conveyor.dsl.Pipeline` into its IR."""
from __future__ import annotations

import os

from conveyor.artifacts import Artifact
from conveyor.artifacts.base import PROPERTY_KINDS
from conveyor.dsl.channel import RuntimeParameter
from conveyor.dsl.component import Component
from conveyor.dsl.pipeline import Pipeline
from conveyor.dsl.source import file_sha256
from conveyor.dsl.typecheck import to_json_value
from conveyor.errors import DefinitionError
from conveyor.ir.model import (
    ArtifactTypeIR,
    ChannelRef,
    FileRef,
    NodeIR,
    ParameterValue,
    PipelineIR,
    RuntimeParameterIR,
    SourceRef,
)
from conveyor.version import __version__


def compile_pipeline(pipeline: Pipeline, *, root: str | None = None) -> PipelineIR:
    """The IR of ``pipeline``. ``root`` overrides the pipeline's root.

    Local roots are made absolute, so the IR means the same from any working directory. User
    module files are hashed now; the launcher refuses to run a module that changed since.
    """
    chosen_root = root or pipeline.root
    if "://" not in chosen_root:
        chosen_root = os.path.abspath(chosen_root)
    types: dict[str, ArtifactTypeIR] = {}
    nodes = [_compile_node(pipeline, node, types) for node in pipeline.nodes]
    return PipelineIR(
        name=pipeline.name,
        root=chosen_root,
        nodes=nodes,
        artifact_types=dict(sorted(types.items())),
        parameters={
            p.name: RuntimeParameterIR(p.name, p.type_name, p.default, p.description)
            for p in pipeline.parameters.values()
        },
        metadata=pipeline.metadata,
        enable_cache=pipeline.enable_cache,
        beam_args=list(pipeline.beam_args),
        conveyor_version=__version__,
    )


def _type_ir(cls: type[Artifact], types: dict[str, ArtifactTypeIR]) -> str:
    if cls.TYPE_NAME not in types:
        types[cls.TYPE_NAME] = ArtifactTypeIR(
            name=cls.TYPE_NAME,
            class_ref=f"{cls.__module__}:{cls.__qualname__}",
            properties={name: kind.__name__ for name, kind in cls.PROPERTIES.items()
                        if kind in PROPERTY_KINDS},
            base_type=cls.BASE_TYPE,
        )
    return cls.TYPE_NAME


def _compile_node(pipeline: Pipeline, node: Component,
                  types: dict[str, ArtifactTypeIR]) -> NodeIR:
    spec = type(node).SPEC
    inputs = {}
    for key, channel in node.inputs.items():
        if channel is None:
            continue
        ispec = spec.inputs[key]
        inputs[key] = ChannelRef(channel.producer_id, channel.key,
                                 _type_ir(channel.artifact_type, types), ispec.optional, ispec.many)
    parameters: dict[str, ParameterValue] = {}
    module_files: dict[str, FileRef] = {}
    for key, value in node.parameters.items():
        pspec = spec.parameters[key]
        where = f"pipeline '{pipeline.name}' node '{node.id}' field '{key}'"
        if isinstance(value, RuntimeParameter):
            if pspec.module_file:
                raise DefinitionError(f"{where}: a module file cannot be a runtime parameter, "
                                      f"because its content must be known when compiling")
            parameters[key] = ParameterValue(runtime=value.name, minimum=pspec.minimum)
            continue
        if pspec.module_file and value is not None:
            path = os.path.abspath(str(value))
            if not os.path.isfile(path):
                raise DefinitionError(f"{where}: module file '{value}' does not exist "
                                      f"(looked for {path})")
            module_files[key] = FileRef(path, file_sha256(path))
            value = path
        parameters[key] = ParameterValue(value=to_json_value(value))
    source = None
    if spec.source is not None:
        source = SourceRef(spec.source.module, spec.source.path, spec.source.fingerprint)
    return NodeIR(
        id=node.id,
        component=spec.type_name,
        executor=spec.executor,
        inputs=inputs,
        outputs={key: _type_ir(o.type, types) for key, o in spec.outputs.items()},
        parameters=parameters,
        module_files=module_files,
        external_files=[k for k, p in spec.parameters.items() if p.external_files],
        source=source,
        upstream=[d.id for d in Pipeline.dependencies(node)],
        enable_cache=pipeline.enable_cache and node.enable_cache,
        kind=type(node).KIND,
    )
