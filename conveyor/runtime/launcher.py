"""The launcher: the one code path that runs a node, for every orchestrator.

Phases, in order:

1. **Resolve** the node's inputs from metadata: the live outputs of the producing nodes' successful
   executions in this run. An abandoned execution of this node (its process is gone) is marked
   failed first.
2. **Cache check**: compute the cache key (see :mod:`conveyor.runtime.cache`); if a complete
   execution with that key has live outputs still on disk, record a CACHED execution reusing them.
3. **Run** the executor in-process: outputs are PENDING artifacts whose directories are private
   staging directories; stdout, stderr and log records go to the node's log file.
4. **Publish** or **fail**: on success, fingerprint each output, rename it into place and, in one
   metadata transaction, mark outputs LIVE and the execution COMPLETE. On any exception, remove the
   staging directories and mark the execution FAILED and its outputs ABANDONED.

A **resolver** node (IR kind ``resolver``, see :mod:`conveyor.dsl.resolver`) skips phases 2-4:
its inputs are resolved as above, then its query (:mod:`conveyor.runtime.resolvers`) finds
existing artifacts, and one COMPLETE execution (property ``resolver``) records them as its
OUTPUT events, or FAILED when the query raised or a ``required`` resolver found nothing. It is
never cached: each run queries the newest metadata.

Local runs, notebook runs and every Kubeflow or Airflow task all come through :class:`Launcher`.
"""
from __future__ import annotations

import inspect
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.artifacts import LIVE, Artifact
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import ExecutionError, InputResolutionError, StopRun
from conveyor.ir.model import RESOLVER, NodeIR, PipelineIR
from conveyor.ir.parameters import parameter_values
from conveyor.metadata.records import (
    CACHED,
    COMPLETE,
    FAILED,
    RUNNING,
    SUCCEEDED_STATES,
    ArtifactRecord,
    ExecutionRecord,
)
from conveyor.metadata.store import MetadataStore
from conveyor.runtime import logs, publish
from conveyor.runtime.cache import FINGERPRINT_PROPERTY, cache_key, canonical_json
from conveyor.runtime.fingerprint import external_fingerprint, tree_fingerprint
from conveyor.runtime.loader import check_module_files, load_artifact_class, load_executor
from conveyor.runtime.process import current_owner, owner_is_gone
from conveyor.runtime.resolvers import Resolution, ResolverQuery

#: A node skipped because a node it depends on did not succeed.
SKIPPED = "SKIPPED"


@dataclass
class NodeResult:
    """What became of one node in one run."""

    node_id: str
    state: str
    execution_id: int | None = None
    duration_s: float = 0.0
    outputs: dict[str, list[ArtifactRecord]] = field(default_factory=dict)
    log_path: str | None = None
    error: str | None = None
    cached_from: int | None = None
    #: Taken from an earlier attempt of the same run (``--resume``), not launched now.
    resumed: bool = False
    #: Set when the executor raised :class:`~conveyor.errors.StopRun`: outputs are published,
    #: but nothing downstream runs.
    stop_reason: str | None = None
    #: For a resolver node: what it found, or why nothing.
    resolved: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the node's outputs were published (completed, or reused from cache)."""
        return self.state in SUCCEEDED_STATES

    @property
    def lets_downstream_run(self) -> bool:
        """Whether nodes that depend on this one may run."""
        return self.succeeded and self.stop_reason is None


class Launcher:
    """Runs nodes of one compiled pipeline within one run, recording everything in ``store``.

    ``new_run=True`` promises that ``run_id`` was freshly made for this launcher's runs (so no
    earlier attempt of it can be abandoned); it saves a query per node. ``echo_logs=True``
    copies each node's log to stderr as it is written (a process running one node for an
    orchestrator, whose task log is that stderr).
    """

    def __init__(
        self,
        ir: PipelineIR,
        store: MetadataStore,
        run_id: str,
        *,
        runtime_parameters: Mapping[str, Any] | None = None,
        enable_cache: bool = True,
        beam_args: Sequence[str] | None = None,
        new_run: bool = False,
        echo_logs: bool = False,
    ) -> None:
        self.ir = ir
        self.echo_logs = echo_logs
        # A run whose id was just made up holds no earlier executions, so there is nothing
        # abandoned to sweep; resumed runs and orchestrator tasks (retries) always sweep.
        self.new_run = new_run
        # Options given at run time come after the pipeline's, so Beam lets them win.
        self.beam_args = [*ir.beam_args, *(beam_args or [])]
        self.store = store
        self.run_id = run_id
        self.enable_cache = enable_cache and ir.enable_cache
        self.runtime_parameters = parameter_values(ir, runtime_parameters or {}, ExecutionError)
        self.artifact_classes = {name: load_artifact_class(t)
                                 for name, t in ir.artifact_types.items()}

    # ---- phase 1: inputs -------------------------------------------------------------------

    def _succeeded_execution(self, node: NodeIR, producer: str) -> ExecutionRecord:
        done = [e for e in self.store.node_executions(self.ir.name, producer, self.run_id)
                if e.state in SUCCEEDED_STATES]
        if not done:
            raise InputResolutionError(
                f"pipeline '{self.ir.name}' node '{node.id}': upstream node '{producer}' has no "
                f"successful execution in run '{self.run_id}'. Run it first, or resume the run "
                f"(conveyor run PIPELINE --resume {self.run_id})"
            )
        return done[-1]

    def resolve_inputs(self, node: NodeIR) -> dict[str, list[ArtifactRecord]]:
        """The live artifacts each input of ``node`` resolves to in this run."""
        producers: dict[str, ExecutionRecord] = {}
        for producer in dict.fromkeys([*(r.producer for r in node.inputs.values()),
                                       *node.upstream]):
            producers[producer] = self._succeeded_execution(node, producer)
        resolved: dict[str, list[ArtifactRecord]] = {}
        outputs_by_producer = {p: self.store.execution_io(e.id).outputs
                               for p, e in producers.items() if p in
                               {r.producer for r in node.inputs.values()}}
        for key, ref in node.inputs.items():
            found = [a for a in outputs_by_producer[ref.producer].get(ref.output, [])
                     if a.state == LIVE]
            if not found and not ref.optional:
                raise InputResolutionError(
                    f"pipeline '{self.ir.name}' node '{node.id}' input '{key}': node "
                    f"'{ref.producer}' produced no live '{ref.output}' artifact in run "
                    f"'{self.run_id}'"
                )
            if len(found) > 1 and not ref.many:
                raise InputResolutionError(
                    f"pipeline '{self.ir.name}' node '{node.id}' input '{key}' takes one "
                    f"artifact but resolved to {len(found)}; declare it Input(many=True)"
                )
            resolved[key] = found
        return resolved

    def parameters(self, node: NodeIR) -> dict[str, Any]:
        """Parameter values of ``node``, runtime parameters substituted."""
        return {key: self.runtime_parameters[p.runtime] if p.runtime is not None else p.value
                for key, p in node.parameters.items()}

    # ---- phase 2: cache --------------------------------------------------------------------

    def cache_inputs(self, node: NodeIR, inputs: Mapping[str, list[ArtifactRecord]],
                     params: Mapping[str, Any]) -> dict[str, Any]:
        """Everything the cache key of ``node`` is computed from (recorded on the execution)."""
        return {
            "executor": node.executor,
            "component": node.component,
            "conveyor_version": self.ir.conveyor_version,
            "source": node.source.fingerprint if node.source else None,
            "parameters": dict(params),
            "module_files": {k: f.sha256 for k, f in node.module_files.items()},
            "external_files": {k: external_fingerprint(str(params[k]))
                               for k in node.external_files if params.get(k) is not None},
            "inputs": {k: [{"id": a.id, "type": a.type_name,
                            "fingerprint": a.custom_properties.get(FINGERPRINT_PROPERTY)}
                           for a in arts] for k, arts in inputs.items()},
            "outputs": dict(node.outputs),
        }

    def _reusable(self, node: NodeIR, key: str) \
            -> tuple[ExecutionRecord, dict[str, list[ArtifactRecord]]] | None:
        hit = self.store.find_cached(self.ir.name, node.id, key)
        if hit is None:
            return None
        outputs = self.store.execution_io(hit.id).outputs
        if set(outputs) != set(node.outputs) or not all(
                os.path.isdir(a.uri) for arts in outputs.values() for a in arts):
            return None
        return hit, outputs

    # ---- the whole node --------------------------------------------------------------------

    def launch(self, node_id: str) -> NodeResult:
        """Run (or reuse) one node; failures are recorded and returned, not raised, except for
        interruptions (KeyboardInterrupt, SystemExit), which are recorded and re-raised."""
        started = time.monotonic()
        node = self.ir.node(node_id)
        if node.kind == RESOLVER:
            return self._resolve(node, started)
        if not self.new_run:
            self.sweep_abandoned(node)
        inputs = self.resolve_inputs(node)
        params = self.parameters(node)
        check_module_files(node)
        recorded = self.cache_inputs(node, inputs, params)
        recorded_json = canonical_json(recorded)
        key = cache_key(recorded_json)
        use_cache = self.enable_cache and node.enable_cache
        properties: dict[str, Any] = {
            "cache_key": key,
            "cache_inputs": recorded_json,
            "cache_enabled": use_cache,
            "executor": node.executor,
        }
        input_ids = {k: [a.id for a in arts] for k, arts in inputs.items()}
        reuse = self._reusable(node, key) if use_cache else None
        if reuse is not None:
            source, outputs = reuse
            stop_reason = source.properties.get("stop_reason")
            properties.update(cached_from=source.id,
                              duration_s=round(time.monotonic() - started, 4))
            if stop_reason is not None:
                properties["stop_reason"] = stop_reason
            execution_id = self.store.record_cached_execution(
                pipeline=self.ir.name, run_id=self.run_id, node_id=node.id,
                execution_type=node.component, properties=properties, inputs=input_ids,
                outputs={k: [a.id for a in arts] for k, arts in outputs.items()},
            )
            return NodeResult(node.id, CACHED, execution_id, time.monotonic() - started,
                              outputs, source.properties.get("log_path"), cached_from=source.id,
                              stop_reason=stop_reason)
        return self._execute(node, inputs, params, properties, input_ids, started)

    def _resolve(self, node: NodeIR, started: float) -> NodeResult:
        """Run a resolver node's metadata query and record what it found."""
        inputs = self.resolve_inputs(node)
        params = self.parameters(node)
        input_ids = {k: [a.id for a in arts] for k, arts in inputs.items()}
        properties: dict[str, Any] = {"resolver": True, "executor": node.executor,
                                      "cache_enabled": False}
        logger = logs.NODE_LOGGER.getChild(node.id)
        try:
            resolution = load_executor(node)(
                ResolverQuery(self.store, self.ir.name, self.run_id, node, inputs), **params)
            if not isinstance(resolution, Resolution):
                raise ExecutionError(f"resolver '{node.executor}' returned "
                                     f"{type(resolution).__name__}, not a Resolution")
            if resolution.empty and params.get("required"):
                raise InputResolutionError(
                    f"pipeline '{self.ir.name}' node '{node.id}' was built with required=True, "
                    f"but found nothing: {resolution.note.removeprefix('nothing found: ')}")
        except Exception as err:
            duration = time.monotonic() - started
            message = f"{type(err).__name__}: {err}"
            execution_id = self.store.start_execution(
                pipeline=self.ir.name, run_id=self.run_id, node_id=node.id,
                execution_type=node.component, properties=properties, inputs=input_ids)
            self.store.fail_execution(execution_id, message, {"duration_s": round(duration, 4)})
            logger.error("%s", message)
            return NodeResult(node.id, FAILED, execution_id, duration, error=message)
        logger.info("%s", resolution.note)
        duration = time.monotonic() - started
        properties.update(resolved=resolution.note, duration_s=round(duration, 4))
        outputs = {key: resolution.outputs.get(key, []) for key in node.outputs}
        execution_id = self.store.record_resolved_execution(
            pipeline=self.ir.name, run_id=self.run_id, node_id=node.id,
            execution_type=node.component, properties=properties, inputs=input_ids,
            outputs={k: [a.id for a in arts] for k, arts in outputs.items()})
        return NodeResult(node.id, COMPLETE, execution_id, duration, outputs,
                          resolved=resolution.note)

    def _execute(self, node: NodeIR, inputs: Mapping[str, list[ArtifactRecord]],
                 params: Mapping[str, Any], properties: dict[str, Any],
                 input_ids: Mapping[str, list[int]], started: float) -> NodeResult:
        properties["owner"] = current_owner()
        execution_id = self.store.start_execution(
            pipeline=self.ir.name, run_id=self.run_id, node_id=node.id,
            execution_type=node.component, properties=properties, inputs=input_ids,
        )
        log_path = os.path.join(self.ir.root, self.ir.name, node.id, ".logs",
                                f"{execution_id}.log")
        outputs = {
            key: [self.artifact_classes[type_name](
                publish.output_uri(self.ir.root, self.ir.name, node.id, key, execution_id))]
            for key, type_name in node.outputs.items()
        }
        self.store.add_pending_outputs(execution_id, outputs)
        finals = {key: arts[0].uri for key, arts in outputs.items()}
        scratch = tempfile.mkdtemp(prefix=f"conveyor-{node.id}-{execution_id}-")
        stop_reason: str | None = None
        try:
            with logs.capture(log_path, echo=self.echo_logs):
                for key, (artifact,) in outputs.items():
                    artifact.uri = publish.prepare_staging(finals[key])
                executor = load_executor(node)
                context = ExecutionContext(
                    pipeline=self.ir.name, run_id=self.run_id, node_id=node.id,
                    execution_id=execution_id, pipeline_root=self.ir.root, scratch_dir=scratch,
                    beam_args=list(self.beam_args),
                    runtime_parameters=dict(self.runtime_parameters),
                )
                context.logger = logs.NODE_LOGGER.getChild(node.id)
                try:
                    executor(**_executor_kwargs(executor, node, inputs, outputs, params,
                                                context))
                except StopRun as stop:
                    stop_reason = str(stop)
                    context.logger.warning("stopping the run: %s", stop_reason)
                for key, (artifact,) in outputs.items():
                    artifact.custom_properties[FINGERPRINT_PROPERTY] = tree_fingerprint(
                        artifact.uri)
                    publish.promote(artifact.uri, finals[key])
                    artifact.uri = finals[key]
            duration = time.monotonic() - started
            published: dict[str, Any] = {"log_path": log_path, "duration_s": round(duration, 4)}
            if stop_reason is not None:
                published["stop_reason"] = stop_reason
            self.store.publish_execution(execution_id, outputs, published)
        except BaseException as err:
            duration = time.monotonic() - started
            message = f"{type(err).__name__}: {err}"
            try:
                with open(log_path, "a", encoding="utf-8") as log:
                    log.write(traceback.format_exc())
            except OSError:
                message += f" (and its log {log_path} could not be written)"
            for key in outputs:
                publish.discard(publish.staging_uri(finals[key]))
                publish.discard(finals[key])
            self.store.fail_execution(execution_id, message,
                                      {"log_path": log_path, "duration_s": round(duration, 4)})
            if not isinstance(err, Exception):
                raise
            return NodeResult(node.id, FAILED, execution_id, duration, {}, log_path, message)
        finally:
            publish.discard(scratch)
        records = self.store.execution_io(execution_id).outputs
        return NodeResult(node.id, COMPLETE, execution_id, duration, records, log_path,
                          stop_reason=stop_reason)

    def sweep_abandoned(self, node: NodeIR) -> list[int]:
        """Mark FAILED every RUNNING execution of ``node`` in this run whose process is gone
        (killed), removing its staging directories. Returns the execution ids swept."""
        swept = []
        for execution in self.store.node_executions(self.ir.name, node.id, self.run_id):
            if execution.state == RUNNING and owner_is_gone(str(execution.properties.get(
                    "owner", ""))):
                abandon(self.store, execution)
                swept.append(execution.id)
        return swept


def abandon(store: MetadataStore, execution: ExecutionRecord) -> None:
    """Mark an execution whose process died FAILED, and remove its unpublished outputs."""
    for artifacts in store.execution_io(execution.id).outputs.values():
        for artifact in artifacts:
            if artifact.state != LIVE:
                publish.discard(publish.staging_uri(artifact.uri))
                publish.discard(artifact.uri)
    store.fail_execution(execution.id, "abandoned: the process running it ended without "
                         "finishing (killed?)")


def _executor_kwargs(executor: Callable[..., Any], node: NodeIR,
                     inputs: Mapping[str, list[ArtifactRecord]],
                     outputs: Mapping[str, list[Artifact]], params: Mapping[str, Any],
                     context: ExecutionContext) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(params)
    for key, ref in node.inputs.items():
        artifacts = [a.to_artifact() for a in inputs.get(key, [])]
        kwargs[key] = artifacts if ref.many else (artifacts[0] if artifacts else None)
    kwargs.update({key: arts[0] for key, arts in outputs.items()})
    for name, param in inspect.signature(executor).parameters.items():
        if name == "context" or param.annotation in (ExecutionContext, "ExecutionContext"):
            kwargs[name] = context
    return kwargs
