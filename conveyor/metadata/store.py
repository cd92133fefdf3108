"""The metadata store interface: everything Conveyor records or asks about runs and artifacts.

Only :mod:`conveyor.metadata.mlmd` implements it, on ML Metadata. Layout in ML Metadata, kept
TFX-compatible so existing tooling can read Conveyor's lineage:

- context types ``pipeline`` (name = pipeline name), ``pipeline_run`` (name = run id, a child of
  its pipeline context) and ``node`` (name = ``<pipeline>.<node id>``);
- one execution type per component type (e.g. ``conveyor.components.trainer.component.Trainer``),
  each execution attributed to its pipeline, run and node contexts; artifacts are attributed to the
  same contexts;
- artifact types named as TFX names them (``Examples``, ``Model``...), with their properties;
- events: ``INPUT`` and ``OUTPUT`` with the input/output key as the event path; outputs of a running
  execution are ``PENDING`` artifacts joined by ``PENDING_OUTPUT`` events until published.

Every method is safe to call from several threads of one process.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from conveyor.artifacts import Artifact
from conveyor.metadata.records import (
    ArtifactRecord,
    ExecutionIO,
    ExecutionRecord,
    LineageGraph,
    RunRecord,
)

Direction = Literal["upstream", "downstream"]


class MetadataStore(abc.ABC):
    """Records runs, executions and artifacts, and answers questions about them."""

    # ---- runs -------------------------------------------------------------------------------

    @abc.abstractmethod
    def ensure_run(self, pipeline: str, run_id: str, properties: Mapping[str, str]) -> RunRecord:
        """Create the pipeline and pipeline_run contexts if missing (idempotent); return the run.

        ``properties`` (e.g. ``ir_path``, ``parameters`` as JSON) are stored on the run context and
        merged into existing ones when the run is resumed.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """The run; :class:`~conveyor.errors.NotFoundError` naming the run id if unknown."""

    @abc.abstractmethod
    def list_runs(self, pipeline: str | None = None) -> list[RunRecord]:
        """Runs of ``pipeline`` (or of every pipeline), newest first."""

    @abc.abstractmethod
    def list_pipelines(self) -> list[str]:
        """Names of every pipeline with at least one run, sorted."""

    # ---- executions: writes ----------------------------------------------------------------

    @abc.abstractmethod
    def start_execution(
        self,
        *,
        pipeline: str,
        run_id: str,
        node_id: str,
        execution_type: str,
        properties: Mapping[str, Any],
        inputs: Mapping[str, Sequence[int]],
    ) -> int:
        """Record a RUNNING execution with INPUT events for ``inputs`` (key -> artifact ids),
        attributed to the pipeline, run and node contexts (the node context is created if
        missing). Returns the execution id."""

    @abc.abstractmethod
    def add_pending_outputs(
        self, execution_id: int, outputs: Mapping[str, Sequence[Artifact]]
    ) -> None:
        """Store ``outputs`` as PENDING artifacts joined to the execution by PENDING_OUTPUT events
        and attributed to its contexts. Sets ``id`` on each Artifact object."""

    @abc.abstractmethod
    def publish_execution(
        self,
        execution_id: int,
        outputs: Mapping[str, Sequence[Artifact]],
        properties: Mapping[str, Any],
    ) -> None:
        """In one transaction: update each output (uri, properties, custom properties) to LIVE
        with an OUTPUT event, merge ``properties`` into the execution and mark it COMPLETE."""

    @abc.abstractmethod
    def fail_execution(self, execution_id: int, error: str,
                       properties: Mapping[str, Any] | None = None) -> None:
        """In one transaction: mark the execution FAILED with ``error`` (and ``properties``)
        and every PENDING output of it ABANDONED."""

    @abc.abstractmethod
    def record_cached_execution(
        self,
        *,
        pipeline: str,
        run_id: str,
        node_id: str,
        execution_type: str,
        properties: Mapping[str, Any],
        inputs: Mapping[str, Sequence[int]],
        outputs: Mapping[str, Sequence[int]],
    ) -> int:
        """Record a CACHED execution whose INPUT events name ``inputs`` and whose OUTPUT events name
        the reused artifacts ``outputs`` (key -> artifact ids); attribute the reused artifacts
        to this run's contexts too. Returns the new execution id."""

    @abc.abstractmethod
    def record_resolved_execution(
        self,
        *,
        pipeline: str,
        run_id: str,
        node_id: str,
        execution_type: str,
        properties: Mapping[str, Any],
        inputs: Mapping[str, Sequence[int]],
        outputs: Mapping[str, Sequence[int]],
    ) -> int:
        """Record a COMPLETE execution of a resolver node: its OUTPUT events name the existing
        artifacts it found (key -> artifact ids; none for an empty result), which are attributed
        to this run's contexts too. ``properties`` should say ``resolver=True``. Returns the new
        execution id."""

    # ---- executions: reads -----------------------------------------------------------------

    @abc.abstractmethod
    def get_execution(self, execution_id: int) -> ExecutionRecord:
        """One execution; NotFoundError if unknown."""

    @abc.abstractmethod
    def run_executions(self, run_id: str) -> list[ExecutionRecord]:
        """Every execution of a run, oldest first (NotFoundError if the run is unknown)."""

    @abc.abstractmethod
    def node_executions(self, pipeline: str, node_id: str,
                        run_id: str | None = None) -> list[ExecutionRecord]:
        """Executions of one node, oldest first: of every run, or of ``run_id`` only."""

    @abc.abstractmethod
    def execution_io(self, execution_id: int) -> ExecutionIO:
        """Input and output artifacts of an execution by key (pending outputs included)."""

    @abc.abstractmethod
    def find_cached(self, pipeline: str, node_id: str, cache_key: str) -> ExecutionRecord | None:
        """The newest COMPLETE execution of the node with this ``cache_key`` whose outputs are all
        still LIVE, or None."""

    # ---- artifacts and lineage -------------------------------------------------------------

    @abc.abstractmethod
    def get_artifact(self, artifact_id: int) -> ArtifactRecord:
        """One artifact; NotFoundError if unknown."""

    @abc.abstractmethod
    def find_artifacts(
        self,
        *,
        type_name: str | None = None,
        pipeline: str | None = None,
        run_id: str | None = None,
        node_id: str | None = None,
        state: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[ArtifactRecord]:
        """Artifacts matching every filter given (``node_id`` needs ``pipeline``), oldest first
        (newest first with ``newest_first``), at most ``limit`` of them."""

    @abc.abstractmethod
    def find_made_artifacts(
        self,
        *,
        type_name: str,
        pipeline: str,
        node_id: str | None = None,
        state: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
        before_id: int | None = None,
    ) -> list[tuple[ArtifactRecord, ExecutionRecord]]:
        """Artifacts of ``type_name`` *made* by node ``node_id`` (any node when None) of
        ``pipeline`` — their :meth:`original_producers` are there, whatever reused them since —
        each with the execution that made it; newest first (or oldest), at most ``limit``, and
        with ``before_id`` (newest first) only ids below it, to read page by page."""

    @abc.abstractmethod
    def original_producers(self, artifact_ids: Sequence[int]) -> dict[int, ExecutionRecord]:
        """For each artifact, the execution that made it: the first to output it, not the cached
        or resolver executions that output it again later. Artifacts without one are left out."""

    @abc.abstractmethod
    def lineage(self, artifact_id: int, direction: Direction, max_hops: int = 20) -> LineageGraph:
        """What produced ``artifact_id`` and what it was made from (upstream), or what consumed
        it and what came of that (downstream), up to ``max_hops`` artifact/execution steps."""

    # ---- lifecycle -------------------------------------------------------------------------

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
