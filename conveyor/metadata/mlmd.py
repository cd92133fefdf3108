"""The metadata store on ML Metadata: the only module of Conveyor that imports ``ml_metadata``.

The layout (types, contexts, events) is described in :mod:`conveyor.metadata.store`. Choices made
here, and why:

- Types are registered lazily, on first write, and their ids cached; reading needs no type
  registration, since MLMD returns each node's type name with it.
- Each write is one ``put_execution`` call, so it is one transaction: a crash never leaves an
  execution COMPLETE with PENDING outputs, or LIVE outputs without their OUTPUT events.
- ``put_execution`` attributes *every* artifact of its events to the execution's contexts, inputs
  included (as TFX does). So an artifact attributed to a run or node context may only have been
  consumed there; :meth:`MlmdStore.find_artifacts` therefore narrows its ``pipeline``/``run_id``/
  ``node_id`` filters to artifacts *output* by an execution of that pipeline, run or node.
- MLMD does not check that an event's artifact id exists, so the writes taking artifact ids check
  them first (one batched read).
- A ``PENDING_OUTPUT`` event counts as an output, in :meth:`MlmdStore.execution_io` and in lineage
  alike: a pending or abandoned artifact is shown as produced by the execution that was writing it.
"""
from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar

from google.protobuf import json_format
from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from conveyor.artifacts.base import PROPERTY_KINDS, Artifact, registered_types
from conveyor.errors import MetadataError, NotFoundError
from conveyor.metadata.config import ENV_VAR, MetadataConfig
from conveyor.metadata.records import (
    ArtifactRecord,
    ExecutionIO,
    ExecutionRecord,
    LineageEvent,
    LineageGraph,
    RunRecord,
)
from conveyor.metadata.store import Direction, MetadataStore

# The generated protobuf module ships without type stubs: to mypy its names would not exist.
pb: Any = metadata_store_pb2
_ArtifactProto: TypeAlias = Any  # metadata_store_pb2.Artifact
_ExecutionProto: TypeAlias = Any  # metadata_store_pb2.Execution
_ContextProto: TypeAlias = Any  # metadata_store_pb2.Context
_EventProto: TypeAlias = Any  # metadata_store_pb2.Event
_ValueProto: TypeAlias = Any  # metadata_store_pb2.Value

PIPELINE, RUN, NODE = "pipeline", "pipeline_run", "node"
_CONTEXT_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    PIPELINE: (), RUN: ("pipeline_name",), NODE: ("pipeline_name", "node_id"),
}
_EXECUTION_PROPERTIES = ("pipeline_name", "run_id", "node_id")

_ARTIFACT_STATES: Mapping[str, int] = {
    name: pb.Artifact.State.Value(name) for name in ("PENDING", "LIVE", "ABANDONED", "DELETED")
}
_INPUT_EVENTS = frozenset({pb.Event.INPUT, pb.Event.DECLARED_INPUT, pb.Event.INTERNAL_INPUT})
_OUTPUT_EVENTS = frozenset({pb.Event.OUTPUT, pb.Event.PENDING_OUTPUT, pb.Event.DECLARED_OUTPUT,
                            pb.Event.INTERNAL_OUTPUT})
_DIRECTIONS: Mapping[str, int] = {
    "upstream": pb.LineageSubgraphQueryOptions.UPSTREAM,
    "downstream": pb.LineageSubgraphQueryOptions.DOWNSTREAM,
}
_BY_ID = metadata_store.ListOptions(order_by=metadata_store.OrderByField.ID)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _synchronized(
    method: Callable[Concatenate[MlmdStore, _P], _R],
) -> Callable[Concatenate[MlmdStore, _P], _R]:
    """Run ``method`` under the store's lock, turning MLMD's errors into MetadataError."""

    def wrapper(self: MlmdStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except mlmd_errors.StatusError as err:
                raise MetadataError(
                    f"ML Metadata at {self._where} refused {method.__name__}: {err}"
                ) from err

    functools.update_wrapper(wrapper, method)
    return wrapper


class MlmdStore(MetadataStore):
    """A :class:`MetadataStore` on an ML Metadata database (SQLite, MySQL or in-memory)."""

    def __init__(self, config: MetadataConfig) -> None:
        self._where = config.describe()
        self._lock = threading.RLock()
        self._store: metadata_store.MetadataStore | None = _connect(config)
        self._type_ids: dict[tuple[str, str], int] = {}
        # Contexts never change type or name, so their ids can be cached; runs also keep their
        # pipeline, which start_execution checks.
        self._context_ids: dict[tuple[str, str], int] = {}
        self._run_pipelines: dict[str, str] = {}

    # ---- runs -------------------------------------------------------------------------------

    @_synchronized
    def ensure_run(self, pipeline: str, run_id: str, properties: Mapping[str, str]) -> RunRecord:
        """See :meth:`MetadataStore.ensure_run`."""
        pipeline_id = self._ensure_context(PIPELINE, pipeline, {})
        run = self._mlmd.get_context_by_type_and_name(RUN, run_id)
        if run is None:
            run = self._new_context(RUN, run_id, {"pipeline_name": pipeline})
            _set_values(run.custom_properties, properties)
            try:
                [run.id] = self._mlmd.put_contexts([run])
            except mlmd_errors.AlreadyExistsError:  # another process created it meanwhile
                return self.ensure_run(pipeline, run_id, properties)
            self._mlmd.put_parent_contexts(
                [pb.ParentContext(child_id=run.id, parent_id=pipeline_id)])
            [run] = self._mlmd.get_contexts_by_id([run.id])
        else:
            self._check_owner(run_id, _string(run.properties, "pipeline_name"), pipeline)
            changed = {k: v for k, v in properties.items()
                       if k not in run.custom_properties or _value(run.custom_properties[k]) != v}
            if changed:
                _set_values(run.custom_properties, changed)
                self._mlmd.put_contexts([run])
            # Creating a run takes two calls; linking here heals a crash between them.
            if pipeline_id not in {c.id for c in self._mlmd.get_parent_contexts_by_context(run.id)}:
                self._mlmd.put_parent_contexts(
                    [pb.ParentContext(child_id=run.id, parent_id=pipeline_id)])
        self._context_ids[(RUN, run_id)] = run.id
        self._run_pipelines[run_id] = pipeline
        return _run_record(run, pipeline)

    @_synchronized
    def get_run(self, run_id: str) -> RunRecord:
        """See :meth:`MetadataStore.get_run`."""
        run = self._mlmd.get_context_by_type_and_name(RUN, run_id)
        if run is None:
            raise self._run_not_found(run_id)
        return _run_record(run, "")

    @_synchronized
    def list_runs(self, pipeline: str | None = None) -> list[RunRecord]:
        """See :meth:`MetadataStore.list_runs`."""
        if pipeline is None:
            runs = self._mlmd.get_contexts_by_type(RUN)
        else:
            pipeline_id = self._context_id(PIPELINE, pipeline)
            children = [] if pipeline_id is None else \
                self._mlmd.get_children_contexts_by_context(pipeline_id)
            runs = [c for c in children if c.type == RUN]
        runs.sort(key=lambda c: (c.create_time_since_epoch, c.id), reverse=True)
        return [_run_record(c, pipeline or "") for c in runs]

    @_synchronized
    def list_pipelines(self) -> list[str]:
        """See :meth:`MetadataStore.list_pipelines`."""
        runs = self._mlmd.get_contexts_by_type(RUN)
        return sorted({_string(c.properties, "pipeline_name") for c in runs} - {""})

    # ---- executions: writes ----------------------------------------------------------------

    @_synchronized
    def start_execution(self, *, pipeline: str, run_id: str, node_id: str, execution_type: str,
                        properties: Mapping[str, Any], inputs: Mapping[str, Sequence[int]]) -> int:
        """See :meth:`MetadataStore.start_execution`."""
        return self._put_new_execution(pipeline, run_id, node_id, execution_type, properties,
                                       pb.Execution.RUNNING, inputs, {})

    @_synchronized
    def add_pending_outputs(self, execution_id: int,
                            outputs: Mapping[str, Sequence[Artifact]]) -> None:
        """See :meth:`MetadataStore.add_pending_outputs`."""
        execution = self._execution(execution_id)
        contexts = [pb.Context(id=c.id) for c in self._mlmd.get_contexts_by_execution(execution_id)]
        self._put_outputs(execution, outputs, "PENDING", pb.Event.PENDING_OUTPUT, contexts)

    @_synchronized
    def publish_execution(self, execution_id: int, outputs: Mapping[str, Sequence[Artifact]],
                          properties: Mapping[str, Any]) -> None:
        """See :meth:`MetadataStore.publish_execution`."""
        execution = self._execution(execution_id)
        _set_values(execution.custom_properties, properties)
        execution.last_known_state = pb.Execution.COMPLETE
        contexts: list[_ContextProto] = []
        if any(a.id is None for arts in outputs.values() for a in arts):
            # Outputs never added as pending are new here and need attributing; pending ones
            # already are.
            contexts = [pb.Context(id=c.id)
                        for c in self._mlmd.get_contexts_by_execution(execution_id)]
        self._put_outputs(execution, outputs, "LIVE", pb.Event.OUTPUT, contexts)

    @_synchronized
    def fail_execution(self, execution_id: int, error: str,
                       properties: Mapping[str, Any] | None = None) -> None:
        """See :meth:`MetadataStore.fail_execution`."""
        execution = self._execution(execution_id)
        _set_values(execution.custom_properties, {**(properties or {}), "error": error})
        execution.last_known_state = pb.Execution.FAILED
        pending_ids = [e.artifact_id for e in self._mlmd.get_events_by_execution_ids([execution_id])
                       if e.type == pb.Event.PENDING_OUTPUT]
        abandoned = []
        for artifact in self._mlmd.get_artifacts_by_id(pending_ids) if pending_ids else []:
            if artifact.state == pb.Artifact.PENDING:
                artifact.state = pb.Artifact.ABANDONED
                abandoned.append((artifact, None))
        self._mlmd.put_execution(execution, abandoned, None)

    @_synchronized
    def record_cached_execution(self, *, pipeline: str, run_id: str, node_id: str,
                                execution_type: str, properties: Mapping[str, Any],
                                inputs: Mapping[str, Sequence[int]],
                                outputs: Mapping[str, Sequence[int]]) -> int:
        """See :meth:`MetadataStore.record_cached_execution`."""
        return self._put_new_execution(pipeline, run_id, node_id, execution_type, properties,
                                       pb.Execution.CACHED, inputs, outputs)

    # ---- executions: reads -----------------------------------------------------------------

    @_synchronized
    def get_execution(self, execution_id: int) -> ExecutionRecord:
        """See :meth:`MetadataStore.get_execution`."""
        return _execution_record(self._execution(execution_id))

    @_synchronized
    def run_executions(self, run_id: str) -> list[ExecutionRecord]:
        """See :meth:`MetadataStore.run_executions`."""
        run_ctx = self._run_context_id(run_id)
        return [_execution_record(e)
                for e in self._mlmd.get_executions_by_context(run_ctx, _BY_ID)]

    @_synchronized
    def node_executions(self, pipeline: str, node_id: str,
                        run_id: str | None = None) -> list[ExecutionRecord]:
        """See :meth:`MetadataStore.node_executions`; NotFoundError if ``run_id`` is unknown."""
        run_ctx = None if run_id is None else self._run_context_id(run_id)
        node_ctx = self._context_id(NODE, f"{pipeline}.{node_id}")
        if node_ctx is None:
            return []
        options = _BY_ID if run_ctx is None else metadata_store.ListOptions(
            order_by=metadata_store.OrderByField.ID, filter_query=f"contexts_a.id = {run_ctx}")
        return [_execution_record(e)
                for e in self._mlmd.get_executions_by_context(node_ctx, options)]

    @_synchronized
    def execution_io(self, execution_id: int) -> ExecutionIO:
        """See :meth:`MetadataStore.execution_io`."""
        events = self._mlmd.get_events_by_execution_ids([execution_id])
        if not events:
            self._execution(execution_id)  # NotFoundError if unknown; else it has no artifacts
            return ExecutionIO()
        # A published output has both a PENDING_OUTPUT and an OUTPUT event: list it once.
        slots: dict[tuple[bool, str, int], int] = {}
        for event in events:
            is_input = event.type in _INPUT_EVENTS
            if is_input or event.type in _OUTPUT_EVENTS:
                key, index = _event_path(event)
                slots.setdefault((is_input, key, index), event.artifact_id)
        records = self._artifact_records(set(slots.values()))
        io = ExecutionIO()
        for (is_input, key, _), artifact_id in sorted(slots.items()):
            if artifact_id in records:
                (io.inputs if is_input else io.outputs).setdefault(key, []).append(
                    records[artifact_id])
        return io

    @_synchronized
    def find_cached(self, pipeline: str, node_id: str, cache_key: str) -> ExecutionRecord | None:
        """See :meth:`MetadataStore.find_cached`."""
        node_ctx = self._context_id(NODE, f"{pipeline}.{node_id}")
        if node_ctx is None:
            return None
        query = "last_known_state = COMPLETE"
        if "\\" not in cache_key:  # MLMD's filter cannot match a backslash; checked below anyway
            query += f" AND custom_properties.cache_key.string_value = {_quote(cache_key)}"
        candidates = [
            e for e in self._mlmd.get_executions_by_context(node_ctx, metadata_store.ListOptions(
                order_by=metadata_store.OrderByField.ID, is_asc=False, filter_query=query))
            if _string(e.custom_properties, "cache_key") == cache_key
        ]
        if not candidates:
            return None
        outputs: dict[int, set[int]] = {e.id: set() for e in candidates}
        for event in self._mlmd.get_events_by_execution_ids(list(outputs)):
            if event.type == pb.Event.OUTPUT:
                outputs[event.execution_id].add(event.artifact_id)
        wanted = set().union(*outputs.values())
        live = {a.id for a in self._mlmd.get_artifacts_by_id(wanted)
                if a.state == pb.Artifact.LIVE} if wanted else set()
        for execution in candidates:
            if outputs[execution.id] <= live:
                return _execution_record(execution)
        return None

    # ---- artifacts and lineage -------------------------------------------------------------

    @_synchronized
    def get_artifact(self, artifact_id: int) -> ArtifactRecord:
        """See :meth:`MetadataStore.get_artifact`."""
        records = self._artifact_records([artifact_id])
        if artifact_id not in records:
            raise NotFoundError(
                f"artifact {artifact_id} not found in {self._where}; artifact ids are listed by "
                f"the store's find_artifacts() and by each run's executions"
            )
        return records[artifact_id]

    @_synchronized
    def find_artifacts(self, *, type_name: str | None = None, pipeline: str | None = None,
                       run_id: str | None = None, node_id: str | None = None,
                       state: str | None = None) -> list[ArtifactRecord]:
        """See :meth:`MetadataStore.find_artifacts`. ``pipeline``, ``run_id`` and ``node_id``
        select artifacts output (produced, pending, or reused by a cached execution) there."""
        if node_id is not None and pipeline is None:
            raise MetadataError(f"find_artifacts(node_id={node_id!r}) needs the pipeline too; "
                                f"node ids are unique only within a pipeline")
        terms = []
        if type_name is not None:
            terms.append(f"type = {_quote(type_name)}")
        if state is not None:
            if state not in _ARTIFACT_STATES:
                raise MetadataError(f"unknown artifact state {state!r}; use one of "
                                    f"{', '.join(_ARTIFACT_STATES)}")
            terms.append(f"state = {state}")
        scope = [(kind, name) for kind, name in ((PIPELINE, pipeline), (RUN, run_id),
                 (NODE, node_id and f"{pipeline}.{node_id}")) if name is not None]
        for alias, (kind, name) in zip("abc", scope):
            context_id = self._context_id(kind, name)
            if context_id is None:
                return []
            terms.append(f"contexts_{alias}.id = {context_id}")
        artifacts = self._mlmd.get_artifacts(metadata_store.ListOptions(
            order_by=metadata_store.OrderByField.ID, filter_query=" AND ".join(terms) or None))
        if scope and artifacts:
            wanted = {"pipeline_name": pipeline, "run_id": run_id, "node_id": node_id}
            producers = self._output_producers([a.id for a in artifacts])
            artifacts = [a for a in artifacts if any(
                all(v is None or _string(e.properties, k) == v for k, v in wanted.items())
                for e in producers.get(a.id, ()))]
        return [_artifact_record(a) for a in artifacts]

    @_synchronized
    def lineage(self, artifact_id: int, direction: Direction, max_hops: int = 20) -> LineageGraph:
        """See :meth:`MetadataStore.lineage`. A ``PENDING_OUTPUT`` edge is an ``OUTPUT`` event."""
        if direction not in _DIRECTIONS:
            raise MetadataError(f"unknown lineage direction {direction!r}; use 'upstream' or "
                                f"'downstream'")
        options = pb.LineageSubgraphQueryOptions(
            starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
                filter_query=f"id = {int(artifact_id)}"),
            max_num_hops=max_hops,
            direction=_DIRECTIONS[direction],
        )
        try:
            graph = self._mlmd.get_lineage_subgraph(options, ["artifacts", "executions", "events"])
        except mlmd_errors.NotFoundError as err:  # no artifact has that id
            raise self._artifact_not_found(artifact_id) from err
        result = LineageGraph(
            artifacts={a.id: _artifact_record(a) for a in graph.artifacts},
            executions={e.id: _execution_record(e) for e in graph.executions},
        )
        seen: set[LineageEvent] = set()
        for event in sorted(graph.events, key=lambda e: (e.execution_id, e.artifact_id)):
            kind = "INPUT" if event.type in _INPUT_EVENTS else \
                "OUTPUT" if event.type in _OUTPUT_EVENTS else None
            if kind is None:
                continue
            edge = LineageEvent(event.artifact_id, event.execution_id, kind, _event_path(event)[0])
            if edge not in seen:
                seen.add(edge)
                result.events.append(edge)
        return result

    # ---- lifecycle -------------------------------------------------------------------------

    @_synchronized
    def close(self) -> None:
        """See :meth:`MetadataStore.close`. MLMD has no close: dropping the client closes it."""
        self._store = None

    # ---- private -----------------------------------------------------------------------------

    @property
    def _mlmd(self) -> metadata_store.MetadataStore:
        if self._store is None:
            raise MetadataError(f"the metadata store {self._where} is closed; open it again "
                                f"with conveyor.metadata.connect(config)")
        return self._store

    def _put_new_execution(self, pipeline: str, run_id: str, node_id: str, execution_type: str,
                           properties: Mapping[str, Any], state: int,
                           inputs: Mapping[str, Sequence[int]],
                           outputs: Mapping[str, Sequence[int]]) -> int:
        """One put_execution: a new execution, its events to existing artifacts, its contexts."""
        run_ctx = self._run_context_id(run_id, pipeline)
        self._check_artifacts_exist([i for ids in (*inputs.values(), *outputs.values())
                                     for i in ids])
        execution = pb.Execution(type_id=self._execution_type_id(execution_type),
                                 last_known_state=state)
        for name, value in zip(_EXECUTION_PROPERTIES, (pipeline, run_id, node_id)):
            execution.properties[name].string_value = value
        _set_values(execution.custom_properties, properties)
        events = [(None, _event(kind, key, i, artifact_id))
                  for kind, mapping in ((pb.Event.INPUT, inputs), (pb.Event.OUTPUT, outputs))
                  for key, ids in mapping.items() for i, artifact_id in enumerate(ids)]
        node_name = f"{pipeline}.{node_id}"
        node_ctx = self._context_ids.get((NODE, node_name))
        contexts = [
            pb.Context(id=self._ensure_context(PIPELINE, pipeline, {})),
            pb.Context(id=run_ctx),
            pb.Context(id=node_ctx) if node_ctx is not None else
            self._new_context(NODE, node_name, {"pipeline_name": pipeline, "node_id": node_id}),
        ]
        # A node context without id is created, or reused if it exists.
        execution_id, _, context_ids = self._mlmd.put_execution(
            execution, events, contexts, reuse_context_if_already_exist=True,
            force_reuse_context=True)
        self._context_ids[(NODE, node_name)] = context_ids[2]
        return int(execution_id)

    def _put_outputs(self, execution: _ExecutionProto, outputs: Mapping[str, Sequence[Artifact]],
                     state: str, event_type: int, contexts: list[_ContextProto]) -> None:
        """One put_execution writing ``outputs`` in ``state``, then updating the objects."""
        pairs = [(self._artifact_proto(artifact, state), _event(event_type, key, i))
                 for key, artifacts in outputs.items() for i, artifact in enumerate(artifacts)]
        _, artifact_ids, _ = self._mlmd.put_execution(execution, pairs, contexts,
                                                      force_reuse_context=True)
        for artifact, artifact_id in zip((a for arts in outputs.values() for a in arts),
                                         artifact_ids):
            artifact.id = int(artifact_id)
            artifact.state = state

    def _artifact_proto(self, artifact: Artifact, state: str) -> _ArtifactProto:
        cls = type(artifact)
        proto = pb.Artifact(type_id=self._artifact_type_id(cls), uri=artifact.uri,
                            state=_ARTIFACT_STATES[state])
        if artifact.id is not None:
            proto.id = artifact.id
        for name, kind in cls.PROPERTIES.items():
            value = artifact.properties.get(name)
            if value is not None:
                _set_value(proto.properties[name], json.dumps(value) if kind is list else value,
                           name)
        _set_values(proto.custom_properties, artifact.custom_properties)
        return proto

    def _artifact_type_id(self, cls: type[Artifact]) -> int:
        key = ("artifact", cls.TYPE_NAME)
        if key not in self._type_ids:
            artifact_type = pb.ArtifactType(name=cls.TYPE_NAME)
            for name, kind in cls.PROPERTIES.items():
                artifact_type.properties[name] = pb.PropertyType.Value(PROPERTY_KINDS[kind])
            if cls.BASE_TYPE:
                artifact_type.base_type = pb.ArtifactType.SystemDefinedBaseType.Value(
                    cls.BASE_TYPE)
            self._type_ids[key] = self._mlmd.put_artifact_type(
                artifact_type, can_add_fields=True, can_omit_fields=True)
        return self._type_ids[key]

    def _execution_type_id(self, name: str) -> int:
        key = ("execution", name)
        if key not in self._type_ids:
            execution_type = pb.ExecutionType(name=name)
            for prop in _EXECUTION_PROPERTIES:
                execution_type.properties[prop] = pb.STRING
            self._type_ids[key] = self._mlmd.put_execution_type(
                execution_type, can_add_fields=True, can_omit_fields=True)
        return self._type_ids[key]

    def _context_type_id(self, name: str) -> int:
        key = ("context", name)
        if key not in self._type_ids:
            context_type = pb.ContextType(name=name)
            for prop in _CONTEXT_PROPERTIES[name]:
                context_type.properties[prop] = pb.STRING
            self._type_ids[key] = self._mlmd.put_context_type(
                context_type, can_add_fields=True, can_omit_fields=True)
        return self._type_ids[key]

    def _new_context(self, kind: str, name: str, properties: Mapping[str, str]) -> _ContextProto:
        context = pb.Context(type_id=self._context_type_id(kind), name=name)
        for prop, value in properties.items():
            context.properties[prop].string_value = value
        return context

    def _context_id(self, kind: str, name: str) -> int | None:
        """The id of an existing context, or None."""
        if (kind, name) not in self._context_ids:
            context = self._mlmd.get_context_by_type_and_name(kind, name)
            if context is None:
                return None
            self._context_ids[(kind, name)] = context.id
        return self._context_ids[(kind, name)]

    def _ensure_context(self, kind: str, name: str, properties: Mapping[str, str]) -> int:
        context_id = self._context_id(kind, name)
        if context_id is None:
            try:
                [context_id] = self._mlmd.put_contexts([self._new_context(kind, name, properties)])
            except mlmd_errors.AlreadyExistsError:  # another process created it meanwhile
                return self._ensure_context(kind, name, properties)
            self._context_ids[(kind, name)] = context_id
        return context_id

    def _run_context_id(self, run_id: str, pipeline: str | None = None) -> int:
        """The run's context id; NotFoundError if unknown, MetadataError if of another pipeline."""
        if run_id not in self._run_pipelines:
            run = self._mlmd.get_context_by_type_and_name(RUN, run_id)
            if run is None:
                raise self._run_not_found(run_id)
            self._context_ids[(RUN, run_id)] = run.id
            self._run_pipelines[run_id] = _string(run.properties, "pipeline_name")
        if pipeline is not None:
            self._check_owner(run_id, self._run_pipelines[run_id], pipeline)
        return self._context_ids[(RUN, run_id)]

    def _check_owner(self, run_id: str, owner: str, pipeline: str) -> None:
        # Runs written by other tools may lack the property; their ids are trusted.
        if owner and owner != pipeline:
            raise MetadataError(f"run {run_id!r} belongs to pipeline {owner!r}, not {pipeline!r}, "
                                f"in {self._where}; choose another run id")

    def _execution(self, execution_id: int) -> _ExecutionProto:
        found = self._mlmd.get_executions_by_id([execution_id])
        if not found:
            raise NotFoundError(f"execution {execution_id} not found in {self._where}; a run's "
                                f"executions are listed by the store's run_executions(run_id)")
        return found[0]

    def _check_artifacts_exist(self, artifact_ids: Iterable[int]) -> None:
        wanted = set(artifact_ids)
        if wanted:
            missing = wanted - {a.id for a in self._mlmd.get_artifacts_by_id(wanted)}
            if missing:
                raise self._artifact_not_found(*sorted(missing))

    def _artifact_records(self, artifact_ids: Iterable[int]) -> dict[int, ArtifactRecord]:
        ids = list(artifact_ids)
        return {a.id: _artifact_record(a) for a in self._mlmd.get_artifacts_by_id(ids)} \
            if ids else {}

    def _output_producers(self, artifact_ids: list[int]) -> dict[int, list[_ExecutionProto]]:
        """For each artifact, the executions that output it (OUTPUT or PENDING_OUTPUT)."""
        events = [e for e in self._mlmd.get_events_by_artifact_ids(artifact_ids)
                  if e.type in _OUTPUT_EVENTS]
        executions = {e.id: e for e in
                      self._mlmd.get_executions_by_id({e.execution_id for e in events})}
        producers: dict[int, list[_ExecutionProto]] = {}
        for event in events:
            if event.execution_id in executions:
                producers.setdefault(event.artifact_id, []).append(executions[event.execution_id])
        return producers

    def _run_not_found(self, run_id: str) -> NotFoundError:
        return NotFoundError(f"run {run_id!r} not found in {self._where}; "
                             f"list runs with `conveyor runs`")

    def _artifact_not_found(self, *artifact_ids: int) -> NotFoundError:
        return NotFoundError(
            f"artifact{'s' if len(artifact_ids) > 1 else ''} "
            f"{', '.join(map(str, artifact_ids))} not found in {self._where}; artifact ids are "
            f"listed by the store's find_artifacts() and by each run's executions"
        )


# ---- connection and conversion -------------------------------------------------------------


def _connect(config: MetadataConfig) -> metadata_store.MetadataStore:
    connection = pb.ConnectionConfig()
    if config.kind == "sqlite":
        connection.sqlite.filename_uri = config.path
        connection.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        fix = ("check that the directory is writable and that the file, if it exists, is an ML "
               "Metadata SQLite database")
    elif config.kind == "mysql":
        connection.mysql.host = config.host
        connection.mysql.port = config.port
        connection.mysql.database = config.database
        connection.mysql.user = config.user
        connection.mysql.password = config.password
        fix = "check that the MySQL server is running and reachable, and the user and password"
    else:
        connection.fake_database.SetInParent()
        fix = "this is ML Metadata's in-memory database; check the ml-metadata installation"
    try:
        if config.kind == "sqlite":
            os.makedirs(os.path.dirname(config.path) or ".", exist_ok=True)
        return metadata_store.MetadataStore(connection)
    except (OSError, RuntimeError, mlmd_errors.StatusError) as err:
        raise MetadataError(
            f"cannot open the metadata store {config.describe()}: {err}. {fix[0].upper()}"
            f"{fix[1:]}, or choose another store with ${ENV_VAR} "
            f"(sqlite:///path, mysql://user:password@host:port/database or memory:)"
        ) from err


def _set_value(target: _ValueProto, value: Any, name: str) -> None:
    # bool first: it is also an int, and must read back as a bool.
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    else:
        raise MetadataError(f"property {name!r} is {type(value).__name__} {value!r}; "
                            f"ML Metadata stores only str, int, float and bool")


def _set_values(target: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if value is not None:
            _set_value(target[name], value, name)


def _value(value: _ValueProto) -> Any:
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if kind == "proto_value":
        return value.proto_value.type_url
    return getattr(value, kind) if kind else None


def _string(values: Any, name: str) -> str:
    """A string (custom) property, "" if missing: indexing a proto map would insert the key."""
    return values[name].string_value if name in values else ""


def _artifact_record(artifact: _ArtifactProto) -> ArtifactRecord:
    cls = registered_types().get(artifact.type)
    properties = {}
    for name, stored in artifact.properties.items():
        value = _value(stored)
        if cls is not None and cls.PROPERTIES.get(name) is list and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass  # not written by Conveyor or TFX: keep the raw string
        properties[name] = value
    return ArtifactRecord(
        id=artifact.id,
        type_name=artifact.type,
        uri=artifact.uri,
        state=pb.Artifact.State.Name(artifact.state),
        properties=properties,
        custom_properties={k: _value(v) for k, v in artifact.custom_properties.items()},
        create_time_ms=artifact.create_time_since_epoch,
    )


def _execution_record(execution: _ExecutionProto) -> ExecutionRecord:
    return ExecutionRecord(
        id=execution.id,
        type_name=execution.type,
        pipeline=_string(execution.properties, "pipeline_name"),
        run_id=_string(execution.properties, "run_id"),
        node_id=_string(execution.properties, "node_id"),
        state=pb.Execution.State.Name(execution.last_known_state),
        properties={k: _value(v) for k, v in execution.custom_properties.items()},
        create_time_ms=execution.create_time_since_epoch,
        last_update_time_ms=execution.last_update_time_since_epoch,
    )


def _run_record(context: _ContextProto, pipeline: str) -> RunRecord:
    return RunRecord(
        run_id=context.name,
        pipeline=_string(context.properties, "pipeline_name") or pipeline,
        create_time_ms=context.create_time_since_epoch,
        properties={k: _value(v) for k, v in context.custom_properties.items()},
    )


def _event(event_type: int, key: str, index: int, artifact_id: int | None = None) -> _EventProto:
    event = pb.Event(type=event_type)
    event.path.steps.add().key = key
    event.path.steps.add().index = index
    if artifact_id is not None:
        event.artifact_id = artifact_id
    return event


def _event_path(event: _EventProto) -> tuple[str, int]:
    """The (key, index) of an event's path; ("", 0) for parts missing."""
    key = next((s.key for s in event.path.steps if s.HasField("key")), "")
    index = next((s.index for s in event.path.steps if s.HasField("index")), 0)
    return key, index


def _quote(text: str) -> str:
    """``text`` as a string literal of MLMD's filter syntax."""
    return "'" + text.replace("'", "\\'") + "'"
