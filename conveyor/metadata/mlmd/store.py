""":class:`MlmdStore`, the metadata store on ML Metadata.

The layout (types, contexts, events) is described in :mod:`conveyor.metadata.store`. Choices made
here, and why:

- Types are registered lazily, on first write, and their ids cached (:mod:`.contexts`).
- Each write is one ``put_execution`` call, so it is one transaction: a crash never leaves an
  execution COMPLETE with PENDING outputs, or LIVE outputs without their OUTPUT events.
- ``put_execution`` attributes *every* artifact of its events to the execution's contexts, inputs
  included (as TFX does). So an artifact attributed to a run or node context may only have been
  consumed there; :meth:`MlmdStore.find_artifacts` therefore narrows its ``pipeline``/``run_id``/
  ``node_id`` filters to artifacts *output* by an execution of that pipeline, run or node.
- MLMD does not check that an event's artifact id exists, so the writes taking artifact ids check
  them first (one batched read).
- New SQLite files are created in write-ahead-log mode (:mod:`.connect`), and processes
  take turns inside them (:mod:`conveyor.metadata.writer_lock`).
- A ``PENDING_OUTPUT`` event counts as an output, in :meth:`MlmdStore.execution_io` and in lineage
  alike (:data:`conveyor.metadata._convert.EVENT_KINDS`).

Messages become records in :mod:`conveyor.metadata._convert`, which imports no ``ml_metadata``.
"""
from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from conveyor.artifacts.base import PROPERTY_KINDS, Artifact
from conveyor.errors import MetadataError, NotFoundError
from conveyor.metadata._convert import (
    artifact_record,
    event_kind,
    event_paths,
    execution_record,
    filter_literal,
    run_record,
    set_values,
    string_property,
    value,
)
from conveyor.metadata.config import MetadataConfig
from conveyor.metadata.mlmd.connect import open_mlmd
from conveyor.metadata.mlmd.contexts import NODE, PIPELINE, RUN, MlmdContexts, node_name
from conveyor.metadata.records import (
    ArtifactRecord,
    ExecutionIO,
    ExecutionRecord,
    LineageEvent,
    LineageGraph,
    RunRecord,
)
from conveyor.metadata.store import Direction, MetadataStore
from conveyor.metadata.writer_lock import WriterLock

# The generated protobuf module ships without type stubs: to mypy its names would not exist.
pb: Any = metadata_store_pb2
_ArtifactProto: TypeAlias = Any  # metadata_store_pb2.Artifact
_ExecutionProto: TypeAlias = Any  # metadata_store_pb2.Execution
_ContextProto: TypeAlias = Any  # metadata_store_pb2.Context
_EventProto: TypeAlias = Any  # metadata_store_pb2.Event

_EXECUTION_PROPERTIES: Mapping[str, int] = {
    "pipeline_name": pb.STRING, "run_id": pb.STRING, "node_id": pb.STRING,
}

_ARTIFACT_STATES: Mapping[str, int] = {
    name: pb.Artifact.State.Value(name) for name in ("PENDING", "LIVE", "ABANDONED", "DELETED")
}
_DIRECTIONS: Mapping[str, int] = {
    "upstream": pb.LineageSubgraphQueryOptions.UPSTREAM,
    "downstream": pb.LineageSubgraphQueryOptions.DOWNSTREAM,
}
_BY_ID = metadata_store.ListOptions(order_by=metadata_store.OrderByField.ID)
#: A node's newest executions, read in one unfiltered query. On SQLite any filter query costs
#: a fixed ~0.8 ms, this page ~0.15 ms, and it answers nearly every lookup of the launcher
#: (this run's executions, the latest cache hit); filter queries are the fallback.
_RECENT_LIMIT = 32
#: Artifacts read per query when looking for the newest ones made by a node (resolvers).
_PAGE = 50
_RECENT = metadata_store.ListOptions(limit=_RECENT_LIMIT,
                                     order_by=metadata_store.OrderByField.ID, is_asc=False)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _synchronized(
    method: Callable[Concatenate[MlmdStore, _P], _R],
) -> Callable[Concatenate[MlmdStore, _P], _R]:
    """Run ``method`` under the store's lock, turning MLMD's errors into MetadataError."""

    def wrapper(self: MlmdStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock, self._writer_lock:
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
        self._writer_lock: WriterLock | contextlib.nullcontext[None] = (
            WriterLock(config.path) if config.kind == "sqlite" else contextlib.nullcontext())
        self._store: metadata_store.MetadataStore | None = open_mlmd(config)
        self._contexts = MlmdContexts(lambda: self._mlmd, self._where)

    # ---- runs -------------------------------------------------------------------------------

    @_synchronized
    def ensure_run(self, pipeline: str, run_id: str, properties: Mapping[str, str]) -> RunRecord:
        """See :meth:`MetadataStore.ensure_run`."""
        pipeline_id = self._contexts.ensure(PIPELINE, pipeline, {})
        run = self._mlmd.get_context_by_type_and_name(RUN, run_id)
        if run is None:
            run = self._contexts.new_context(RUN, run_id, {"pipeline_name": pipeline})
            set_values(run.custom_properties, properties)
            try:
                [run.id] = self._mlmd.put_contexts([run])
            except mlmd_errors.AlreadyExistsError:  # another process created it meanwhile
                return self.ensure_run(pipeline, run_id, properties)
            self._contexts.link_to_pipeline(run.id, pipeline_id)
            [run] = self._mlmd.get_contexts_by_id([run.id])
        else:
            self._contexts.check_owner(run_id, string_property(run.properties, "pipeline_name"),
                                       pipeline)
            changed = {k: v for k, v in properties.items()
                       if k not in run.custom_properties or value(run.custom_properties[k]) != v}
            if changed:
                set_values(run.custom_properties, changed)
                self._mlmd.put_contexts([run])
            # Creating a run takes two calls; linking here heals a crash between them.
            if pipeline_id not in {c.id for c in self._mlmd.get_parent_contexts_by_context(run.id)}:
                self._contexts.link_to_pipeline(run.id, pipeline_id)
        self._contexts.remember_run(run, pipeline)
        return run_record(run, pipeline)

    @_synchronized
    def get_run(self, run_id: str) -> RunRecord:
        """See :meth:`MetadataStore.get_run`."""
        run = self._mlmd.get_context_by_type_and_name(RUN, run_id)
        if run is None:
            raise self._contexts.run_not_found(run_id)
        return run_record(run, "")

    @_synchronized
    def list_runs(self, pipeline: str | None = None) -> list[RunRecord]:
        """See :meth:`MetadataStore.list_runs`."""
        if pipeline is None:
            runs = self._mlmd.get_contexts_by_type(RUN)
        else:
            pipeline_id = self._contexts.context_id(PIPELINE, pipeline)
            children = [] if pipeline_id is None else \
                self._mlmd.get_children_contexts_by_context(pipeline_id)
            runs = [c for c in children if c.type == RUN]
        runs.sort(key=lambda c: (c.create_time_since_epoch, c.id), reverse=True)
        return [run_record(c, pipeline or "") for c in runs]

    @_synchronized
    def list_pipelines(self) -> list[str]:
        """See :meth:`MetadataStore.list_pipelines`."""
        runs = self._mlmd.get_contexts_by_type(RUN)
        return sorted({string_property(c.properties, "pipeline_name") for c in runs} - {""})

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
        set_values(execution.custom_properties, properties)
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
        set_values(execution.custom_properties, {**(properties or {}), "error": error})
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

    @_synchronized
    def record_resolved_execution(self, *, pipeline: str, run_id: str, node_id: str,
                                  execution_type: str, properties: Mapping[str, Any],
                                  inputs: Mapping[str, Sequence[int]],
                                  outputs: Mapping[str, Sequence[int]]) -> int:
        """See :meth:`MetadataStore.record_resolved_execution`."""
        return self._put_new_execution(pipeline, run_id, node_id, execution_type, properties,
                                       pb.Execution.COMPLETE, inputs, outputs)

    # ---- executions: reads -----------------------------------------------------------------

    @_synchronized
    def get_execution(self, execution_id: int) -> ExecutionRecord:
        """See :meth:`MetadataStore.get_execution`."""
        return execution_record(self._execution(execution_id))

    @_synchronized
    def run_executions(self, run_id: str) -> list[ExecutionRecord]:
        """See :meth:`MetadataStore.run_executions`."""
        run_ctx = self._contexts.run_context_id(run_id)
        return [execution_record(e)
                for e in self._mlmd.get_executions_by_context(run_ctx, _BY_ID)]

    @_synchronized
    def node_executions(self, pipeline: str, node_id: str,
                        run_id: str | None = None) -> list[ExecutionRecord]:
        """See :meth:`MetadataStore.node_executions`; NotFoundError if ``run_id`` is unknown."""
        run_ctx = None if run_id is None else self._contexts.run_context_id(run_id)
        node_ctx = self._contexts.context_id(NODE, node_name(pipeline, node_id))
        if node_ctx is None:
            return []
        if run_id is None or run_ctx is None:
            return [execution_record(e)
                    for e in self._mlmd.get_executions_by_context(node_ctx, _BY_ID)]
        recent = self._mlmd.get_executions_by_context(node_ctx, _RECENT)
        if len(recent) < _RECENT_LIMIT or recent[-1].create_time_since_epoch < \
                self._contexts.run_created_ms(run_id):
            # Every execution of the run is newer than the run itself: the page holds them all.
            return [execution_record(e) for e in reversed(recent)
                    if string_property(e.properties, "run_id") == run_id]
        options = metadata_store.ListOptions(
            order_by=metadata_store.OrderByField.ID, filter_query=f"contexts_a.id = {run_ctx}")
        return [execution_record(e)
                for e in self._mlmd.get_executions_by_context(node_ctx, options)]

    @_synchronized
    def execution_io(self, execution_id: int) -> ExecutionIO:
        """See :meth:`MetadataStore.execution_io`."""
        events = self._mlmd.get_events_by_execution_ids([execution_id])
        if not events:
            self._execution(execution_id)  # NotFoundError if unknown; else it has no artifacts
            return ExecutionIO()
        # A published output has both a PENDING_OUTPUT and an OUTPUT event: list it once.
        slots: dict[tuple[str, str, int], int] = {}
        for event in events:
            kind = event_kind(event)
            if kind is not None:
                for key, index in event_paths(event):
                    slots.setdefault((kind, key, index), event.artifact_id)
        records = self._artifact_records(set(slots.values()))
        io = ExecutionIO()
        for (kind, key, _), artifact_id in sorted(slots.items()):
            if artifact_id in records:
                (io.inputs if kind == "INPUT" else io.outputs).setdefault(key, []).append(
                    records[artifact_id])
        return io

    @_synchronized
    def find_cached(self, pipeline: str, node_id: str, cache_key: str) -> ExecutionRecord | None:
        """See :meth:`MetadataStore.find_cached`."""
        node_ctx = self._contexts.context_id(NODE, node_name(pipeline, node_id))
        if node_ctx is None:
            return None
        recent = self._mlmd.get_executions_by_context(node_ctx, _RECENT)
        candidates = [e for e in recent if e.last_known_state == pb.Execution.COMPLETE
                      and string_property(e.custom_properties, "cache_key") == cache_key]
        found = self._first_with_live_outputs(candidates)
        if found is not None or len(recent) < _RECENT_LIMIT:
            return found
        # Older history: ask MLMD. The state is checked here, not in the filter: each filter
        # term costs about 0.5 ms on SQLite. MLMD's filter cannot match a backslash.
        query = None if "\\" in cache_key else \
            f"custom_properties.cache_key.string_value = {filter_literal(cache_key)}"
        candidates = [
            e for e in self._mlmd.get_executions_by_context(node_ctx, metadata_store.ListOptions(
                order_by=metadata_store.OrderByField.ID, is_asc=False, filter_query=query))
            if e.last_known_state == pb.Execution.COMPLETE
            and string_property(e.custom_properties, "cache_key") == cache_key
        ]
        return self._first_with_live_outputs(candidates)

    def _first_with_live_outputs(self, candidates: list[_ExecutionProto]) \
            -> ExecutionRecord | None:
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
                return execution_record(execution)
        return None

    # ---- artifacts and lineage -------------------------------------------------------------

    @_synchronized
    def get_artifact(self, artifact_id: int) -> ArtifactRecord:
        """See :meth:`MetadataStore.get_artifact`."""
        records = self._artifact_records([artifact_id])
        if artifact_id not in records:
            raise self._artifact_not_found(artifact_id)
        return records[artifact_id]

    @_synchronized
    def find_artifacts(self, *, type_name: str | None = None, pipeline: str | None = None,
                       run_id: str | None = None, node_id: str | None = None,
                       state: str | None = None, newest_first: bool = False,
                       limit: int | None = None) -> list[ArtifactRecord]:
        """See :meth:`MetadataStore.find_artifacts`. ``pipeline``, ``run_id`` and ``node_id``
        select artifacts output (produced, pending, reused by a cached execution, or found by
        a resolver) there; :meth:`find_made_artifacts` selects by maker only."""
        if node_id is not None and pipeline is None:
            raise MetadataError(f"find_artifacts(node_id={node_id!r}) needs the pipeline too; "
                                f"node ids are unique only within a pipeline")
        terms = []
        if type_name is not None:
            terms.append(f"type = {filter_literal(type_name)}")
        if state is not None:
            if state not in _ARTIFACT_STATES:
                raise MetadataError(f"unknown artifact state {state!r}; use one of "
                                    f"{', '.join(_ARTIFACT_STATES)}")
            terms.append(f"state = {state}")
        scope = [(kind, name) for kind, name in ((PIPELINE, pipeline), (RUN, run_id),
                 (NODE, None if node_id is None or pipeline is None
                  else node_name(pipeline, node_id))) if name is not None]
        for alias, (kind, name) in zip("abc", scope, strict=False):
            context_id = self._contexts.context_id(kind, name)
            if context_id is None:
                return []
            terms.append(f"contexts_{alias}.id = {context_id}")
        if limit is not None and limit < 1:
            raise MetadataError(f"find_artifacts(limit={limit}): the limit must be at least 1")
        artifacts = self._mlmd.get_artifacts(metadata_store.ListOptions(
            order_by=metadata_store.OrderByField.ID, is_asc=not newest_first,
            filter_query=" AND ".join(terms) or None))
        if scope and artifacts:
            wanted = {"pipeline_name": pipeline, "run_id": run_id, "node_id": node_id}
            producers = self._output_producers([a.id for a in artifacts])
            artifacts = [a for a in artifacts if any(
                all(v is None or string_property(e.properties, k) == v for k, v in wanted.items())
                for e in producers.get(a.id, ()))]
        return [artifact_record(a) for a in artifacts[:limit]]

    @_synchronized
    def find_made_artifacts(self, *, type_name: str, pipeline: str, node_id: str | None = None,
                            state: str | None = None, newest_first: bool = True,
                            limit: int | None = None, before_id: int | None = None,
                            ) -> list[tuple[ArtifactRecord, ExecutionRecord]]:
        """See :meth:`MetadataStore.find_made_artifacts`. Reads pages of :data:`_PAGE`
        artifacts attributed to the node (or pipeline) context, each page's makers in one
        query, until ``limit`` are found: a resolver asking for the newest reads one page,
        however long the history."""
        if before_id is not None and not newest_first:
            raise MetadataError("find_made_artifacts(before_id=...) pages newest first; "
                                "pass newest_first=True")
        terms = [f"type = {filter_literal(type_name)}"]
        if state is not None:
            if state not in _ARTIFACT_STATES:
                raise MetadataError(f"unknown artifact state {state!r}; use one of "
                                    f"{', '.join(_ARTIFACT_STATES)}")
            terms.append(f"state = {state}")
        kind, name = (NODE, node_name(pipeline, node_id)) if node_id is not None else \
            (PIPELINE, pipeline)
        context_id = self._contexts.context_id(kind, name)
        if context_id is None:
            return []
        terms.append(f"contexts_a.id = {context_id}")
        found: list[tuple[ArtifactRecord, ExecutionRecord]] = []
        cursor = before_id
        while limit is None or len(found) < limit:
            bound = [] if cursor is None else [f"id {'<' if newest_first else '>'} {cursor}"]
            page = self._mlmd.get_artifacts(metadata_store.ListOptions(
                limit=_PAGE, order_by=metadata_store.OrderByField.ID, is_asc=not newest_first,
                filter_query=" AND ".join([*terms, *bound])))
            makers = self._makers([a.id for a in page]) if page else {}
            for artifact in page:
                maker = makers.get(artifact.id)
                if maker is not None and string_property(maker.properties, "pipeline_name") \
                        == pipeline and (node_id is None or string_property(
                            maker.properties, "node_id") == node_id):
                    found.append((artifact_record(artifact), execution_record(maker)))
            if len(page) < _PAGE:
                break
            cursor = page[-1].id
        return found[:limit]

    @_synchronized
    def original_producers(self, artifact_ids: Sequence[int]) -> dict[int, ExecutionRecord]:
        """See :meth:`MetadataStore.original_producers`. Execution ids grow, so the maker of an
        artifact is the lowest id outputting it."""
        if not artifact_ids:
            return {}
        return {artifact_id: execution_record(maker)
                for artifact_id, maker in self._makers(list(artifact_ids)).items()}

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
            artifacts={a.id: artifact_record(a) for a in graph.artifacts},
            executions={e.id: execution_record(e) for e in graph.executions},
        )
        seen: set[LineageEvent] = set()
        for event in sorted(graph.events, key=lambda e: (e.execution_id, e.artifact_id)):
            kind = event_kind(event)
            if kind is None:
                continue
            for key, _ in event_paths(event):
                edge = LineageEvent(event.artifact_id, event.execution_id, kind, key)
                if edge not in seen:
                    seen.add(edge)
                    result.events.append(edge)
        return result

    # ---- lifecycle -------------------------------------------------------------------------

    @_synchronized
    def close(self) -> None:
        """See :meth:`MetadataStore.close`. MLMD has no close: dropping the client closes it."""
        self._store = None
        if isinstance(self._writer_lock, WriterLock):
            self._writer_lock.close()

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
        run_ctx = self._contexts.run_context_id(run_id, pipeline)
        self._check_artifacts_exist([i for ids in (*inputs.values(), *outputs.values())
                                     for i in ids])
        execution = pb.Execution(
            type_id=self._contexts.type_id(pb.ExecutionType(name=execution_type,
                                                   properties=_EXECUTION_PROPERTIES)),
            last_known_state=state)
        set_values(execution.properties,
                   {"pipeline_name": pipeline, "run_id": run_id, "node_id": node_id})
        set_values(execution.custom_properties, properties)
        # One event per artifact and kind, with a path step pair per key it is given under.
        paths: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for kind, mapping in ((pb.Event.INPUT, inputs), (pb.Event.OUTPUT, outputs)):
            for key, ids in mapping.items():
                for i, artifact_id in enumerate(ids):
                    paths.setdefault((kind, artifact_id), []).append((key, i))
        events = [(None, _event(kind, steps, artifact_id))
                  for (kind, artifact_id), steps in paths.items()]
        node = node_name(pipeline, node_id)
        node_ctx = self._contexts.cached_id(NODE, node)
        contexts = [
            pb.Context(id=self._contexts.ensure(PIPELINE, pipeline, {})),
            pb.Context(id=run_ctx),
            pb.Context(id=node_ctx) if node_ctx is not None else
            self._contexts.new_context(NODE, node, {"pipeline_name": pipeline, "node_id": node_id}),
        ]
        # A node context without id is created, or reused if it exists.
        execution_id, _, context_ids = self._mlmd.put_execution(
            execution, events, contexts, reuse_context_if_already_exist=True,
            force_reuse_context=True)
        self._contexts.remember(NODE, node, context_ids[2])
        return int(execution_id)

    def _put_outputs(self, execution: _ExecutionProto, outputs: Mapping[str, Sequence[Artifact]],
                     state: str, event_type: int, contexts: list[_ContextProto]) -> None:
        """One put_execution writing ``outputs`` in ``state``, then updating the objects."""
        pairs = [(self._artifact_proto(artifact, state), _event(event_type, [(key, i)]))
                 for key, artifacts in outputs.items() for i, artifact in enumerate(artifacts)]
        _, artifact_ids, _ = self._mlmd.put_execution(execution, pairs, contexts,
                                                      force_reuse_context=True)
        for artifact, artifact_id in zip((a for arts in outputs.values() for a in arts),
                                         artifact_ids, strict=False):
            artifact.id = int(artifact_id)
            artifact.state = state

    def _artifact_proto(self, artifact: Artifact, state: str) -> _ArtifactProto:
        cls = type(artifact)
        artifact_type = pb.ArtifactType(name=cls.TYPE_NAME, properties={
            name: pb.PropertyType.Value(PROPERTY_KINDS[kind])
            for name, kind in cls.PROPERTIES.items()})
        if cls.BASE_TYPE:
            artifact_type.base_type = pb.ArtifactType.SystemDefinedBaseType.Value(cls.BASE_TYPE)
        proto = pb.Artifact(type_id=self._contexts.type_id(artifact_type), uri=artifact.uri,
                            state=_ARTIFACT_STATES[state], id=artifact.id)
        set_values(proto.properties, {
            name: json.dumps(v) if cls.PROPERTIES[name] is list else v
            for name, v in artifact.properties.items() if name in cls.PROPERTIES})
        set_values(proto.custom_properties, artifact.custom_properties)
        return proto

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
        return {a.id: artifact_record(a) for a in self._mlmd.get_artifacts_by_id(ids)} \
            if ids else {}

    def _makers(self, artifact_ids: list[int]) -> dict[int, _ExecutionProto]:
        """For each artifact, the first execution that output it: its maker (execution ids
        grow; cached and resolver executions output it again later). Only makers are read."""
        first: dict[int, int] = {}
        for event in self._mlmd.get_events_by_artifact_ids(artifact_ids):
            if event_kind(event) == "OUTPUT":
                held = first.get(event.artifact_id)
                if held is None or event.execution_id < held:
                    first[event.artifact_id] = event.execution_id
        executions = {e.id: e for e in self._mlmd.get_executions_by_id(set(first.values()))} \
            if first else {}
        return {a: executions[e] for a, e in first.items() if e in executions}

    def _output_producers(self, artifact_ids: list[int]) -> dict[int, list[_ExecutionProto]]:
        """For each artifact, the executions that output it (OUTPUT or PENDING_OUTPUT)."""
        events = [e for e in self._mlmd.get_events_by_artifact_ids(artifact_ids)
                  if event_kind(e) == "OUTPUT"]
        executions = {e.id: e for e in
                      self._mlmd.get_executions_by_id({e.execution_id for e in events})}
        producers: dict[int, list[_ExecutionProto]] = {}
        for event in events:
            if event.execution_id in executions:
                producers.setdefault(event.artifact_id, []).append(executions[event.execution_id])
        return producers

    def _artifact_not_found(self, *artifact_ids: int) -> NotFoundError:
        return NotFoundError(
            f"artifact{'s' if len(artifact_ids) > 1 else ''} "
            f"{', '.join(map(str, artifact_ids))} not found in {self._where}; artifact ids are "
            f"listed by the store's find_artifacts() and by each run's executions"
        )


# ---- events -----------------------------------------------------------------------------


def _event(event_type: int, steps: Sequence[tuple[str, int]],
           artifact_id: int | None = None) -> _EventProto:
    event = pb.Event(type=event_type)
    for key, index in steps:
        event.path.steps.add().key = key
        event.path.steps.add().index = index
    if artifact_id is not None:
        event.artifact_id = artifact_id
    return event
