"""LocalRunner: runs a compiled pipeline on this machine, independent nodes concurrently."""
from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from conveyor.dsl.pipeline import Pipeline
from conveyor.errors import ConveyorError, ExecutionError, RunFailedError
from conveyor.ir import PipelineIR, compile_pipeline
from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import FAILED, SUCCEEDED_STATES
from conveyor.orchestrators.progress import NullProgress, Progress, format_summary
from conveyor.runtime.launcher import SKIPPED, Launcher, NodeResult


def new_run_id() -> str:
    """A fresh run id: UTC time, then random hex (sortable, unique across machines)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass
class RunResult:
    """The outcome of one run: every node's result, in pipeline order."""

    pipeline: str
    run_id: str
    root: str
    metadata: str
    ir_path: str
    nodes: list[NodeResult] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        """Whether every node completed or was reused, and none stopped the run."""
        return all(r.succeeded for r in self.nodes) and not self.stopped

    @property
    def stopped(self) -> list[str]:
        """Ids of nodes that stopped the run on purpose (their outputs are published)."""
        return [r.node_id for r in self.nodes if r.stop_reason is not None]

    @property
    def failed(self) -> list[str]:
        """Ids of nodes that failed."""
        return [r.node_id for r in self.nodes if r.state == FAILED]

    def __getitem__(self, node_id: str) -> NodeResult:
        for result in self.nodes:
            if result.node_id == node_id:
                return result
        raise KeyError(node_id)

    def summary(self) -> str:
        """The node table and a closing line saying where outputs and metadata are."""
        cached = sum(1 for r in self.nodes if r.state == "CACHED")
        ok = sum(1 for r in self.nodes if r.succeeded)
        skipped = sum(1 for r in self.nodes if r.state == SKIPPED)
        lines = [
            format_summary(self.nodes),
            "",
            f"run {self.run_id} of pipeline '{self.pipeline}': {ok} succeeded ({cached} from "
            f"cache), {len(self.failed)} failed, {skipped} skipped in {self.duration_s:.2f}s",
            f"outputs:  {os.path.join(self.root, self.pipeline)}",
            f"metadata: {self.metadata}",
        ]
        for result in self.nodes:
            if result.stop_reason is not None:
                lines.append(f"node '{result.node_id}' stopped the run: {result.stop_reason}")
        if self.failed:
            lines.append(f"fix the cause, then resume with: conveyor run <pipeline file> "
                         f"--resume {self.run_id}")
        return "\n".join(lines)


class LocalRunner:
    """Runs pipelines in this process through the launcher.

    ``max_workers`` nodes run at once (default: the number of cores). ``metadata`` is a metadata
    URL overriding the pipeline's (default ``<root>/metadata.sqlite``). ``beam_args`` are Beam
    pipeline options added to the pipeline's own (e.g. ``["--runner=FlinkRunner"]``). With
    ``raise_on_failure`` (the default) a run with failed nodes raises
    :class:`~conveyor.errors.RunFailedError` after every runnable node has finished.
    Interrupted (``KeyboardInterrupt``), a run starts no further node, lets the running ones
    finish and re-raises; ``conveyor run`` instead ends its process at once (see
    :mod:`conveyor.cli.run_command`), and the run resumes with ``resume=`` either way.
    """

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        metadata: str | None = None,
        progress: Progress | None = None,
        enable_cache: bool = True,
        raise_on_failure: bool = True,
        beam_args: Sequence[str] = (),
    ) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1
        self.metadata = metadata
        self.progress: Progress = progress or NullProgress()
        self.enable_cache = enable_cache
        self.raise_on_failure = raise_on_failure
        self.beam_args = list(beam_args)
        #: The id of the run in progress (or of the last one), once chosen.
        self.run_id: str | None = None

    def run(
        self,
        pipeline: Pipeline | PipelineIR,
        *,
        run_id: str | None = None,
        resume: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        root: str | None = None,
    ) -> RunResult:
        """Run ``pipeline`` (compiling it first if needed). ``resume`` re-runs, within that run,
        only the nodes that have not succeeded in it yet."""
        started = time.monotonic()
        ir = pipeline if isinstance(pipeline, PipelineIR) else compile_pipeline(pipeline,
                                                                                root=root)
        config = MetadataConfig.resolve(self.metadata or ir.metadata, ir.root)
        store = connect(config)
        chosen_id = run_id
        try:
            run_id = self._choose_run_id(store, ir, run_id, resume)
            self.run_id = run_id
            ir_path = os.path.join(ir.root, ir.name, ".runs", run_id, "pipeline.json")
            ir.save(ir_path)
            launcher = Launcher(ir, store, run_id, runtime_parameters=parameters,
                                enable_cache=self.enable_cache, beam_args=self.beam_args,
                                new_run=resume is None and chosen_id is None)
            store.ensure_run(ir.name, run_id, {
                "ir_path": ir_path, "root": ir.root,
                "parameters": json.dumps(launcher.runtime_parameters, sort_keys=True),
            })
            result = RunResult(ir.name, run_id, ir.root, config.describe(), ir_path)
            done = self._earlier_attempts(store, ir, run_id) if resume else {}
            self.progress.run_started(ir.name, run_id, [n.id for n in ir.nodes])
            for earlier in done.values():
                self.progress.node_finished(earlier)
            results = self._schedule(ir, launcher, done)
            self.progress.run_finished()
        finally:
            store.close()
        result.nodes = [results[n.id] for n in ir.nodes]
        result.duration_s = time.monotonic() - started
        if self.raise_on_failure and (result.failed or result.stopped):
            what = [f"node(s) {', '.join(result.failed)} failed"] if result.failed else []
            what += [f"node(s) {', '.join(result.stopped)} stopped the run"] \
                if result.stopped else []
            raise RunFailedError(
                f"pipeline '{ir.name}' run {run_id}: {'; '.join(what)}\n\n{result.summary()}",
                run_id=run_id, failed=result.failed, stopped=result.stopped)
        return result

    @staticmethod
    def _choose_run_id(store: MetadataStore, ir: PipelineIR, run_id: str | None,
                       resume: str | None) -> str:
        if resume is None:
            return run_id or new_run_id()
        previous = store.get_run(resume)
        if previous.pipeline != ir.name:
            raise ExecutionError(f"run {resume} belongs to pipeline '{previous.pipeline}', not "
                                 f"'{ir.name}'; resume it with that pipeline's file")
        return resume

    @staticmethod
    def _earlier_attempts(store: MetadataStore, ir: PipelineIR,
                          run_id: str) -> dict[str, NodeResult]:
        done: dict[str, NodeResult] = {}
        for node in ir.nodes:
            executions = store.node_executions(ir.name, node.id, run_id)
            succeeded = [e for e in executions if e.state in SUCCEEDED_STATES]
            if succeeded:
                last = succeeded[-1]
                done[node.id] = NodeResult(
                    node.id, last.state, last.id, float(last.properties.get("duration_s", 0.0)),
                    store.execution_io(last.id).outputs, last.properties.get("log_path"),
                    resumed=True, stop_reason=last.properties.get("stop_reason"),
                    resolved=last.properties.get("resolved"),
                )
        return done

    def _schedule(self, ir: PipelineIR, launcher: Launcher,
                  done: dict[str, NodeResult]) -> dict[str, NodeResult]:
        results = dict(done)
        deps = {n.id: {*(r.producer for r in n.inputs.values()), *n.upstream} for n in ir.nodes}
        pending = [n.id for n in ir.nodes if n.id not in results]
        running: dict[Future[NodeResult], str] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers,
                                thread_name_prefix="conveyor-node") as pool:
            try:
                while pending or running:
                    for node_id in list(pending):
                        blocked = [d for d in deps[node_id]
                                   if d in results and not results[d].lets_downstream_run]
                        if blocked:
                            pending.remove(node_id)
                            upstream = results[blocked[0]]
                            why = ("stopped the run" if upstream.stop_reason is not None
                                   else upstream.state.lower())
                            results[node_id] = NodeResult(
                                node_id, SKIPPED, error=f"upstream '{blocked[0]}' {why}")
                            self.progress.node_finished(results[node_id])
                        elif all(d in results for d in deps[node_id]):
                            pending.remove(node_id)
                            self.progress.node_started(node_id)
                            running[pool.submit(self._launch, launcher, node_id)] = node_id
                    if not running:
                        continue
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        node_id = running.pop(future)
                        results[node_id] = future.result()
                        self.progress.node_finished(results[node_id])
            except KeyboardInterrupt:
                # Threads cannot be interrupted: nodes already running finish and are
                # recorded; nodes queued behind them never start.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return results

    @staticmethod
    def _launch(launcher: Launcher, node_id: str) -> NodeResult:
        started = time.monotonic()
        try:
            return launcher.launch(node_id)
        except ConveyorError as err:
            # Raised before an execution was recorded (inputs, module files): still a failure
            # of this node, reported with the others.
            return NodeResult(node_id, FAILED, duration_s=time.monotonic() - started,
                              error=f"{type(err).__name__}: {err}")
