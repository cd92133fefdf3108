"""Types and contexts in ML Metadata, for :class:`conveyor.metadata.mlmd.MlmdStore`.

Types are registered lazily, on first write, and their ids cached; reading needs no type
registration, since MLMD returns each node's type name with it. Contexts never change type or
name, so their ids are cached too; a run also keeps its pipeline (which writes to the run are
checked against) and its creation time (which bounds the age of its executions).

Several processes may write one store at once (Kubeflow pods, Airflow workers, parallel
notebook sessions): creating a context or linking a run to its pipeline that another process
has just created or linked is expected, and means the work is done.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from conveyor.errors import MetadataError, NotFoundError
from conveyor.metadata._convert import set_values, string_property

# The generated protobuf module ships without type stubs: to mypy its names would not exist.
pb: Any = metadata_store_pb2
_ContextProto: TypeAlias = Any  # metadata_store_pb2.Context

#: The context types, as TFX names them.
PIPELINE, RUN, NODE = "pipeline", "pipeline_run", "node"
_CONTEXT_PROPERTIES: Mapping[str, Mapping[str, int]] = {
    PIPELINE: {},
    RUN: {"pipeline_name": pb.STRING},
    NODE: {"pipeline_name": pb.STRING, "node_id": pb.STRING},
}


def node_name(pipeline: str, node_id: str) -> str:
    """The name of a node's context: node ids are unique only within their pipeline."""
    return f"{pipeline}.{node_id}"


class MlmdContexts:
    """The type and context ids of one store, registered or looked up on first use."""

    def __init__(self, mlmd: Callable[[], metadata_store.MetadataStore], where: str) -> None:
        self._mlmd = mlmd
        self._where = where
        self._type_ids: dict[tuple[str, str], int] = {}
        self._context_ids: dict[tuple[str, str], int] = {}
        self._run_pipelines: dict[str, str] = {}
        self._run_created_ms: dict[str, int] = {}

    def type_id(self, type_proto: Any) -> int:
        """The id of an ArtifactType, ExecutionType or ContextType, registered on first use."""
        key = (type(type_proto).__name__, type_proto.name)
        if key not in self._type_ids:
            store = self._mlmd()
            put = {"ArtifactType": store.put_artifact_type,
                   "ExecutionType": store.put_execution_type,
                   "ContextType": store.put_context_type}[key[0]]
            # can_omit_fields: a type stored by another Conveyor or TFX version may have more.
            self._type_ids[key] = put(type_proto, can_add_fields=True, can_omit_fields=True)
        return self._type_ids[key]

    def new_context(self, kind: str, name: str, properties: Mapping[str, str]) -> _ContextProto:
        """An unsaved context message of ``kind`` (its type registered)."""
        context_type = pb.ContextType(name=kind, properties=_CONTEXT_PROPERTIES[kind])
        context = pb.Context(type_id=self.type_id(context_type), name=name)
        set_values(context.properties, properties)
        return context

    def cached_id(self, kind: str, name: str) -> int | None:
        """The id of a context this store has seen, without asking MLMD."""
        return self._context_ids.get((kind, name))

    def remember(self, kind: str, name: str, context_id: int) -> None:
        """Cache the id of a context written elsewhere (e.g. by ``put_execution``)."""
        self._context_ids[(kind, name)] = context_id

    def context_id(self, kind: str, name: str) -> int | None:
        """The id of an existing context, or None."""
        if (kind, name) not in self._context_ids:
            context = self._mlmd().get_context_by_type_and_name(kind, name)
            if context is None:
                return None
            self._context_ids[(kind, name)] = context.id
        return self._context_ids[(kind, name)]

    def ensure(self, kind: str, name: str, properties: Mapping[str, str]) -> int:
        """The id of the context, created with ``properties`` if it does not exist."""
        context_id = self.context_id(kind, name)
        if context_id is None:
            try:
                [context_id] = self._mlmd().put_contexts(
                    [self.new_context(kind, name, properties)])
            except mlmd_errors.AlreadyExistsError:  # another process created it meanwhile
                return self.ensure(kind, name, properties)
            self._context_ids[(kind, name)] = context_id
        return context_id

    def link_to_pipeline(self, run_context_id: int, pipeline_id: int) -> None:
        """Make the pipeline's context the run's parent, once.

        Tasks of one run start in separate processes; one may heal the link of a run another
        has just created, so the second insert of the same link is expected.
        """
        try:
            self._mlmd().put_parent_contexts(
                [pb.ParentContext(child_id=run_context_id, parent_id=pipeline_id)])
        except mlmd_errors.AlreadyExistsError:
            pass

    def remember_run(self, run: _ContextProto, pipeline: str) -> None:
        """Cache a run context just read or written, with its pipeline."""
        self._context_ids[(RUN, run.name)] = run.id
        self._run_pipelines[run.name] = pipeline
        self._run_created_ms[run.name] = run.create_time_since_epoch

    def run_context_id(self, run_id: str, pipeline: str | None = None) -> int:
        """The run's context id; NotFoundError if unknown, MetadataError if ``pipeline`` is
        given and the run belongs to another."""
        if run_id not in self._run_pipelines:
            run = self._mlmd().get_context_by_type_and_name(RUN, run_id)
            if run is None:
                raise self.run_not_found(run_id)
            self.remember_run(run, string_property(run.properties, "pipeline_name"))
        if pipeline is not None:
            self.check_owner(run_id, self._run_pipelines[run_id], pipeline)
        return self._context_ids[(RUN, run_id)]

    def run_created_ms(self, run_id: str) -> int:
        """When the run's context was created (after :meth:`run_context_id` found it)."""
        return self._run_created_ms[run_id]

    def check_owner(self, run_id: str, owner: str, pipeline: str) -> None:
        """MetadataError if the run is recorded as another pipeline's."""
        # Runs written by other tools may lack the property; their ids are trusted.
        if owner and owner != pipeline:
            raise MetadataError(f"run {run_id!r} belongs to pipeline {owner!r}, not {pipeline!r}, "
                                f"in {self._where}; choose another run id")

    def run_not_found(self, run_id: str) -> NotFoundError:
        """The error for an unknown run id."""
        return NotFoundError(f"run {run_id!r} not found in {self._where}; "
                             f"list runs with `conveyor runs`")
