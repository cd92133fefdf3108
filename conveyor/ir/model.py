"""The compiled pipeline (IR): plain data that every runner executes.

Serialised as JSON with a schema version; ``PipelineIR.from_json(ir.to_json()) == ir`` and the
JSON text round-trips byte for byte. Orchestrators read only this, never the Python objects that
defined the pipeline, so compiling for Kubeflow or Airflow needs none of the ML libraries.

Shape (``schema_version`` ``conveyor.ir/v2``)::

    {"schema_version", "conveyor_version", "name", "root", "metadata", "enable_cache",
     "beam_args": [...],
     "parameters": {name: {"type", "default", "description"}},          # runtime parameters
     "artifact_types": {name: {"class", "properties": {p: kind}, "base_type"}},
     "nodes": [{"id", "kind": "executor" | "resolver", "component", "executor": "module:function",
                "source": {"module", "path", "fingerprint"} | null,       # function components
                "inputs": {key: {"producer", "output", "type", "optional", "many"}},
                "outputs": {key: type name},
                "parameters": {key: {"value": v} | {"runtime": name, "minimum"?: n}},
                "module_files": {key: {"path", "sha256"}},                # user module files
                "external_files": [key, ...],                             # fingerprinted data
                "upstream": [node id, ...], "enable_cache"}]}              # in topological order

A ``resolver`` node's "executor" is the query in :mod:`conveyor.runtime.resolvers` that the
launcher runs against the metadata store instead of an executor (see
:mod:`conveyor.dsl.resolver`). Version history: ``v1`` had no ``kind`` (every node an executor)
and is still read; ``v2`` added it, so an older Conveyor refuses a pipeline with resolvers
rather than calling a query as an executor.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from conveyor.errors import IRError

SCHEMA_VERSION = "conveyor.ir/v2"
#: Versions this Conveyor reads (older ones are upgraded on reading).
READABLE_VERSIONS = ("conveyor.ir/v1", SCHEMA_VERSION)
#: Node kinds: run an executor, or query metadata for existing artifacts.
EXECUTOR, RESOLVER = "executor", "resolver"


def _get(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict):
        raise IRError(f"{where}: expected an object, got {type(data).__name__}")
    if key not in data:
        raise IRError(f"{where}: missing field '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise IRError(f"{where}.{key}: expected {names}, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class ChannelRef:
    """An input wired to output ``output`` of node ``producer``."""

    producer: str
    output: str
    type: str
    optional: bool = False
    many: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"producer": self.producer, "output": self.output, "type": self.type,
                "optional": self.optional, "many": self.many}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> ChannelRef:
        """Read the JSON form, naming ``where`` in errors."""
        return cls(_get(d, "producer", str, where), _get(d, "output", str, where),
                   _get(d, "type", str, where), bool(d.get("optional", False)),
                   bool(d.get("many", False)))


@dataclass(frozen=True)
class FileRef:
    """A user file and the SHA-256 of its content when compiled."""

    path: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> FileRef:
        """Read the JSON form."""
        return cls(_get(d, "path", str, where), _get(d, "sha256", str, where))


@dataclass(frozen=True)
class SourceRef:
    """Where a function component's code lives (``path`` is used when ``module`` cannot be
    imported by name) and the fingerprint of that code."""

    module: str
    path: str | None
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"module": self.module, "path": self.path, "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> SourceRef:
        """Read the JSON form."""
        path = d.get("path") if isinstance(d, dict) else None
        return cls(_get(d, "module", str, where), path, _get(d, "fingerprint", str, where))


@dataclass(frozen=True)
class ParameterValue:
    """A node parameter: a literal ``value``, or the name of a ``runtime`` parameter with the
    field's ``minimum``, if it declares one (a literal was checked when the node was built; a
    runtime value is checked when a run starts)."""

    value: Any = None
    runtime: str | None = None
    minimum: int | float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        if self.runtime is None:
            return {"value": self.value}
        return {"runtime": self.runtime,
                **({"minimum": self.minimum} if self.minimum is not None else {})}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> ParameterValue:
        """Read the JSON form."""
        if isinstance(d, dict) and "runtime" in d:
            minimum = d.get("minimum")
            if minimum is not None and (isinstance(minimum, bool)
                                        or not isinstance(minimum, (int, float))):
                raise IRError(f"{where}.minimum: expected a number, got {minimum!r}")
            return cls(runtime=_get(d, "runtime", str, where), minimum=minimum)
        if isinstance(d, dict) and "value" in d:
            return cls(value=d["value"])
        raise IRError(f"{where}: expected {{'value': ...}} or {{'runtime': name}}, got {d!r}")


@dataclass(frozen=True)
class RuntimeParameterIR:
    """A pipeline-level parameter chosen when a run starts."""

    name: str
    type: str
    default: Any = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"type": self.type, "default": self.default, "description": self.description}

    @classmethod
    def from_dict(cls, name: str, d: Any, where: str) -> RuntimeParameterIR:
        """Read the JSON form."""
        return cls(name, _get(d, "type", str, where), d.get("default"),
                   str(d.get("description", "")))


@dataclass(frozen=True)
class ArtifactTypeIR:
    """An artifact type used by the pipeline: its class and ML Metadata properties."""

    name: str
    class_ref: str
    properties: dict[str, str] = field(default_factory=dict)
    base_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"class": self.class_ref, "properties": dict(self.properties),
                "base_type": self.base_type}

    @classmethod
    def from_dict(cls, name: str, d: Any, where: str) -> ArtifactTypeIR:
        """Read the JSON form."""
        return cls(name, _get(d, "class", str, where), dict(_get(d, "properties", dict, where)),
                   d.get("base_type"))


@dataclass(frozen=True)
class NodeIR:
    """One node: what to run, on which inputs, with which parameters."""

    id: str
    component: str
    executor: str
    inputs: dict[str, ChannelRef] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, ParameterValue] = field(default_factory=dict)
    module_files: dict[str, FileRef] = field(default_factory=dict)
    external_files: list[str] = field(default_factory=list)
    source: SourceRef | None = None
    upstream: list[str] = field(default_factory=list)
    enable_cache: bool = True
    kind: str = EXECUTOR

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "component": self.component,
            "executor": self.executor,
            "source": self.source.to_dict() if self.source else None,
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "outputs": dict(self.outputs),
            "parameters": {k: v.to_dict() for k, v in self.parameters.items()},
            "module_files": {k: v.to_dict() for k, v in self.module_files.items()},
            "external_files": list(self.external_files),
            "upstream": list(self.upstream),
            "enable_cache": self.enable_cache,
        }

    @classmethod
    def from_dict(cls, d: Any, where: str) -> NodeIR:
        """Read the JSON form."""
        node_id = _get(d, "id", str, where)
        where = f"{where}[{node_id!r}]"
        source = d.get("source")
        kind = d.get("kind", EXECUTOR)
        if kind not in (EXECUTOR, RESOLVER):
            raise IRError(f"{where}.kind: expected '{EXECUTOR}' or '{RESOLVER}', got {kind!r}")
        return cls(
            id=node_id,
            kind=kind,
            component=_get(d, "component", str, where),
            executor=_get(d, "executor", str, where),
            source=SourceRef.from_dict(source, f"{where}.source") if source else None,
            inputs={k: ChannelRef.from_dict(v, f"{where}.inputs.{k}")
                    for k, v in _get(d, "inputs", dict, where).items()},
            outputs={k: str(v) for k, v in _get(d, "outputs", dict, where).items()},
            parameters={k: ParameterValue.from_dict(v, f"{where}.parameters.{k}")
                        for k, v in _get(d, "parameters", dict, where).items()},
            module_files={k: FileRef.from_dict(v, f"{where}.module_files.{k}")
                          for k, v in d.get("module_files", {}).items()},
            external_files=[str(k) for k in d.get("external_files", [])],
            upstream=[str(u) for u in _get(d, "upstream", list, where)],
            enable_cache=bool(d.get("enable_cache", True)),
        )


@dataclass(frozen=True)
class PipelineIR:
    """A compiled pipeline; nodes are in topological order."""

    name: str
    root: str
    nodes: list[NodeIR]
    artifact_types: dict[str, ArtifactTypeIR] = field(default_factory=dict)
    parameters: dict[str, RuntimeParameterIR] = field(default_factory=dict)
    metadata: str | None = None
    enable_cache: bool = True
    beam_args: list[str] = field(default_factory=list)
    conveyor_version: str = ""
    schema_version: str = SCHEMA_VERSION

    def node(self, node_id: str) -> NodeIR:
        """The node with id ``node_id``; IRError listing the ids if there is none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise IRError(f"pipeline '{self.name}' has no node '{node_id}'; nodes: "
                      f"{', '.join(n.id for n in self.nodes)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "schema_version": self.schema_version,
            "conveyor_version": self.conveyor_version,
            "name": self.name,
            "root": self.root,
            "metadata": self.metadata,
            "enable_cache": self.enable_cache,
            "beam_args": list(self.beam_args),
            "parameters": {k: v.to_dict() for k, v in self.parameters.items()},
            "artifact_types": {k: v.to_dict() for k, v in self.artifact_types.items()},
            "nodes": [n.to_dict() for n in self.nodes],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The IR as JSON text (keys in a fixed order, so equal IRs give equal text)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, d: Any) -> PipelineIR:
        """Read the JSON form; IRError says which field is wrong."""
        where = "ir"
        version = _get(d, "schema_version", str, where)
        if version not in READABLE_VERSIONS:
            raise IRError(
                f"the compiled pipeline has schema version {version!r}, but this Conveyor reads "
                f"{' and '.join(repr(v) for v in READABLE_VERSIONS)}; recompile the pipeline "
                f"with this version of Conveyor"
            )
        nodes = [NodeIR.from_dict(n, f"{where}.nodes") for n in _get(d, "nodes", list, where)]
        ir = cls(
            name=_get(d, "name", str, where),
            root=_get(d, "root", str, where),
            nodes=nodes,
            artifact_types={k: ArtifactTypeIR.from_dict(k, v, f"{where}.artifact_types.{k}")
                            for k, v in _get(d, "artifact_types", dict, where).items()},
            parameters={k: RuntimeParameterIR.from_dict(k, v, f"{where}.parameters.{k}")
                        for k, v in _get(d, "parameters", dict, where).items()},
            metadata=d.get("metadata"),
            enable_cache=bool(d.get("enable_cache", True)),
            beam_args=[str(a) for a in d.get("beam_args", [])],
            conveyor_version=str(d.get("conveyor_version", "")),
        )
        ir.validate()
        return ir

    @classmethod
    def from_json(cls, text: str) -> PipelineIR:
        """Parse JSON text written by :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise IRError(f"the compiled pipeline is not valid JSON: {err}") from err
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str) -> PipelineIR:
        """Read a compiled pipeline file."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            raise IRError(f"cannot read the compiled pipeline {path}: {err.strerror}") from err
        return cls.from_json(text)

    def save(self, path: str) -> None:
        """Write the compiled pipeline to ``path`` (atomically: a reader never sees half)."""
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ir-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_json())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the IR is meant to be shared
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def validate(self) -> None:
        """Check references between nodes: inputs, upstream ids, types and runtime parameters."""
        seen: dict[str, NodeIR] = {}
        for node in self.nodes:
            if node.id in seen:
                raise IRError(f"ir: node '{node.id}' appears twice")
            for key, ref in node.inputs.items():
                if ref.producer not in seen:
                    raise IRError(f"ir: node '{node.id}' input '{key}' comes from "
                                  f"'{ref.producer}', which is not an earlier node")
                if ref.output not in seen[ref.producer].outputs:
                    raise IRError(f"ir: node '{node.id}' input '{key}' uses output "
                                  f"'{ref.output}', which node '{ref.producer}' does not have")
                if ref.type not in self.artifact_types:
                    raise IRError(f"ir: node '{node.id}' input '{key}' has unknown artifact type "
                                  f"'{ref.type}'")
            for up in node.upstream:
                if up not in seen:
                    raise IRError(f"ir: node '{node.id}' runs after '{up}', which is not an "
                                  f"earlier node")
            for key, value in node.parameters.items():
                if value.runtime is not None and value.runtime not in self.parameters:
                    raise IRError(f"ir: node '{node.id}' parameter '{key}' uses unknown runtime "
                                  f"parameter '{value.runtime}'")
            for key, type_name in node.outputs.items():
                if type_name not in self.artifact_types:
                    raise IRError(f"ir: node '{node.id}' output '{key}' has unknown artifact "
                                  f"type '{type_name}'")
            seen[node.id] = node
