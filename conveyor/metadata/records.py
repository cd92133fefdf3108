"""Plain records returned by the metadata store: no ML Metadata objects leak past the store."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.artifacts import Artifact, artifact_class

#: Execution states, as ML Metadata names them.
NEW, RUNNING, COMPLETE, FAILED, CACHED, CANCELED = (
    "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED",
)
#: States whose outputs downstream nodes may consume.
SUCCEEDED_STATES = frozenset({COMPLETE, CACHED})


@dataclass
class ArtifactRecord:
    """One artifact as stored: type, location, state and properties."""

    id: int
    type_name: str
    uri: str
    state: str
    properties: dict[str, Any] = field(default_factory=dict)
    custom_properties: dict[str, Any] = field(default_factory=dict)
    create_time_ms: int = 0

    def to_artifact(self) -> Artifact:
        """The artifact as an instance of its registered class (``Examples``, ``Model``...)."""
        cls = artifact_class(self.type_name)
        return cls(
            self.uri,
            properties={k: v for k, v in self.properties.items() if k in cls.PROPERTIES},
            custom_properties=self.custom_properties,
            id=self.id,
            state=self.state,
        )


@dataclass
class ExecutionRecord:
    """One execution of one node in one run.

    ``properties`` holds what the launcher recorded: ``cache_key``, ``cache_inputs`` (JSON of what
    the key was computed from), ``executor``, ``log_path``, ``error``, ``pid``, ``host``,
    ``cached_from`` (execution id whose outputs were reused) and ``duration_s``; a resolver
    node's execution has ``resolver`` (True) and ``resolved`` (what it found, or why nothing).
    """

    id: int
    type_name: str
    pipeline: str
    run_id: str
    node_id: str
    state: str
    properties: dict[str, Any] = field(default_factory=dict)
    create_time_ms: int = 0
    last_update_time_ms: int = 0


@dataclass
class RunRecord:
    """One pipeline run (an ML Metadata ``pipeline_run`` context)."""

    run_id: str
    pipeline: str
    create_time_ms: int = 0
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecutionIO:
    """The artifacts an execution consumed and produced, by input/output key."""

    inputs: dict[str, list[ArtifactRecord]] = field(default_factory=dict)
    outputs: dict[str, list[ArtifactRecord]] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageEvent:
    """One edge of a lineage graph: ``execution`` consumed (INPUT) or produced (OUTPUT) ``artifact``
    under ``key``."""

    artifact_id: int
    execution_id: int
    kind: str
    key: str


@dataclass(frozen=True)
class LineageRow:
    """One line of a lineage tree: an execution or an artifact, ``depth`` levels in."""

    depth: int
    direction: str
    execution: ExecutionRecord | None = None
    artifact: ArtifactRecord | None = None
    #: An execution already listed (with its inputs or outputs) higher up the tree.
    repeated: bool = False


@dataclass
class LineageGraph:
    """A connected part of the lineage: artifacts, executions and the events joining them."""

    artifacts: dict[int, ArtifactRecord] = field(default_factory=dict)
    executions: dict[int, ExecutionRecord] = field(default_factory=dict)
    events: list[LineageEvent] = field(default_factory=list)

    def producers(self, artifact_id: int) -> list[ExecutionRecord]:
        """Executions that output ``artifact_id`` (the original, then any cached reuses and
        resolvers that found it)."""
        ids = [e.execution_id for e in self.events
               if e.artifact_id == artifact_id and e.kind == "OUTPUT"]
        return [self.executions[i] for i in sorted(set(ids)) if i in self.executions]

    def consumers(self, artifact_id: int) -> list[ExecutionRecord]:
        """Executions that took ``artifact_id`` as an input."""
        ids = [e.execution_id for e in self.events
               if e.artifact_id == artifact_id and e.kind == "INPUT"]
        return [self.executions[i] for i in sorted(set(ids)) if i in self.executions]

    def inputs_of(self, execution_id: int) -> list[ArtifactRecord]:
        """Artifacts an execution consumed, as far as the graph reaches."""
        ids = [e.artifact_id for e in self.events
               if e.execution_id == execution_id and e.kind == "INPUT"]
        return [self.artifacts[i] for i in sorted(set(ids)) if i in self.artifacts]

    def outputs_of(self, execution_id: int) -> list[ArtifactRecord]:
        """Artifacts an execution produced, as far as the graph reaches."""
        ids = [e.artifact_id for e in self.events
               if e.execution_id == execution_id and e.kind == "OUTPUT"]
        return [self.artifacts[i] for i in sorted(set(ids)) if i in self.artifacts]

    def tree(self, artifact_id: int, direction: str) -> list[LineageRow]:
        """The lineage of ``artifact_id`` as rows of a tree, in one direction: executions that
        made (upstream) or used (downstream) it, then their inputs or outputs, and so on. An
        execution reached twice is listed again but not followed again."""
        rows: list[LineageRow] = []
        seen: set[int] = set()

        def walk(aid: int, depth: int) -> None:
            if direction == "upstream":
                # A cached or resolver execution re-records the artifact as its output; the
                # original producer is the one that made it.
                made = self.producers(aid)
                steps = [e for e in made if e.state != CACHED
                         and not e.properties.get("resolver")] or made
            else:
                steps = self.consumers(aid)
            for execution in steps:
                rows.append(LineageRow(depth, direction, execution=execution,
                                       repeated=execution.id in seen))
                if execution.id in seen:
                    continue
                seen.add(execution.id)
                nexts = (self.inputs_of(execution.id) if direction == "upstream"
                         else self.outputs_of(execution.id))
                for artifact in nexts:
                    rows.append(LineageRow(depth + 1, direction, artifact=artifact))
                    walk(artifact.id, depth + 2)

        walk(artifact_id, 0)
        return rows
