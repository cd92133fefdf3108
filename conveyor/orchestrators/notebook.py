"""InteractiveContext: run a pipeline one component at a time, in a notebook.

::

    context = InteractiveContext(pipeline_name="penguin")   # root: a fresh temporary directory
    gen = make_examples(rows=1000)
    context.run(gen)                     # executes (or reuses from cache) and shows a summary
    stats = statistics(examples=gen.outputs.examples)
    context.run(stats)                   # its input resolves to what the run of gen produced
    context.show(stats.outputs.statistics)
    context.export_to_pipeline("pipeline.py")   # then: conveyor run pipeline.py

Each :meth:`InteractiveContext.run` compiles a pipeline made of the component and the nodes it
depends on, and launches that one node through the same launcher and cache as every other
orchestrator, within the session's single run (one ``pipeline_run`` context in ML Metadata).
So upstream nodes must have been run first in the same session; running a cell again reuses the
cache. Nothing here imports IPython until something is displayed inside it.
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.artifacts import Artifact
from conveyor.dsl.channel import Channel
from conveyor.dsl.component import Component
from conveyor.dsl.pipeline import Pipeline
from conveyor.dsl.source import function_fingerprint
from conveyor.errors import (
    DefinitionError,
    ExecutorError,
    InputResolutionError,
    NotFoundError,
)
from conveyor.ir import compile_pipeline
from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import CACHED, ArtifactRecord, LineageGraph
from conveyor.orchestrators import notebook_views as views
from conveyor.orchestrators.local import new_run_id
from conveyor.runtime.launcher import Launcher, NodeResult

#: Lines of a node's log kept in its summary (and in the error when it fails).
LOG_TAIL_LINES = 40
#: Artifact/execution steps of lineage drawn by :meth:`InteractiveContext.show`.
LINEAGE_HOPS = 6


@dataclass(repr=False)
class ExecutionResult:
    """What :meth:`InteractiveContext.run` returns: the node, and what became of it.

    Displays as an HTML summary in Jupyter; ``outputs`` holds the artifact records by output
    key, ready for :meth:`InteractiveContext.show`.
    """

    component: Component
    result: NodeResult
    run_id: str

    @property
    def node_id(self) -> str:
        """The node's id."""
        return self.result.node_id

    @property
    def state(self) -> str:
        """``COMPLETE``, ``CACHED`` or ``FAILED``."""
        return self.result.state

    @property
    def cached(self) -> bool:
        """Whether the outputs were reused from an earlier execution."""
        return self.result.state == CACHED

    @property
    def execution_id(self) -> int | None:
        """The ML Metadata execution recording this run of the node."""
        return self.result.execution_id

    @property
    def outputs(self) -> dict[str, list[ArtifactRecord]]:
        """Output artifacts by key."""
        return self.result.outputs

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the node's log (empty when there is none)."""
        path = self.result.log_path
        if not path or not os.path.isfile(path):
            return ""
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def _repr_html_(self) -> str:
        return views.result_html(self.result, component=type(self.component).SPEC.name,
                                 run_id=self.run_id,
                                 log_tail=None if self.cached else self.log_tail())

    def __repr__(self) -> str:
        return views.result_text(self.result, component=type(self.component).SPEC.name,
                                 run_id=self.run_id)


class _Rendered:
    """Something to display: IPython picks the HTML form, a plain console the text form."""

    def __init__(self, html: str, text: str) -> None:
        self.html = html
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


class InteractiveContext:
    """Runs components one at a time, in one run, with the launcher, cache and metadata of
    every orchestrator (see the module docstring).

    ``pipeline_root`` defaults to a new temporary directory, ``metadata`` (a metadata URL, see
    :mod:`conveyor.metadata.config`) to ``<pipeline_root>/metadata.sqlite``. ``enable_cache``
    is the default of :meth:`run`. The store stays open for the session; :meth:`close` (or a
    ``with`` block) releases it.
    """

    def __init__(
        self,
        pipeline_name: str = "interactive",
        pipeline_root: str | None = None,
        metadata: str | None = None,
        *,
        enable_cache: bool = True,
        beam_args: Sequence[str] = (),
        run_id: str | None = None,
    ) -> None:
        Pipeline(pipeline_name, [])  # checks the name now, not at the first run
        self.pipeline_name = pipeline_name
        if pipeline_root is None:
            pipeline_root = tempfile.mkdtemp(prefix=f"conveyor-{pipeline_name}-")
        self.pipeline_root = os.path.abspath(pipeline_root)
        self.metadata_url = metadata
        self.metadata = MetadataConfig.resolve(metadata, self.pipeline_root)
        self.enable_cache = enable_cache
        self.beam_args = list(beam_args)
        self.run_id = run_id or new_run_id()
        self._store: MetadataStore | None = None
        #: node id -> the latest run of a node with that id, in the order ids were first run.
        self._runs: dict[str, ExecutionResult] = {}

    # ---- running -------------------------------------------------------------------------------

    @property
    def store(self) -> MetadataStore:
        """The session's metadata store (opened, and the run recorded, on first use)."""
        if self._store is None:
            self._store = connect(self.metadata)
            self._store.ensure_run(self.pipeline_name, self.run_id,
                                   {"root": self.pipeline_root, "orchestrator": "notebook"})
        return self._store

    def run(self, component: Component, *, enable_cache: bool | None = None) -> ExecutionResult:
        """Run ``component`` (or reuse its cached outputs) within the session's run.

        Every node it takes inputs from, or runs ``after``, must have been run successfully in
        this session first; otherwise :class:`~conveyor.errors.InputResolutionError` says which
        to run. A failing executor raises :class:`~conveyor.errors.ExecutorError` with the end
        of the node's log.
        """
        if not isinstance(component, Component):
            raise TypeError(f"InteractiveContext.run() takes a component node, got "
                            f"{type(component).__name__} {component!r}")
        self._check_upstream_ran(component)
        self._check_current_definition(component)
        use_cache = self.enable_cache if enable_cache is None else enable_cache
        pipeline = Pipeline(self.pipeline_name, _with_ancestors(component),
                            root=self.pipeline_root, metadata=self.metadata_url,
                            enable_cache=use_cache, beam_args=self.beam_args, partial=True)
        ir = compile_pipeline(pipeline)
        launcher = Launcher(ir, self.store, self.run_id, enable_cache=use_cache)
        outcome = ExecutionResult(component, launcher.launch(component.id), self.run_id)
        self._runs[component.id] = outcome
        if not outcome.result.succeeded:
            raise ExecutorError(
                f"pipeline '{self.pipeline_name}' node '{component.id}' failed in run "
                f"{self.run_id}: {outcome.result.error}\n\nEnd of its log "
                f"({outcome.result.log_path}):\n{outcome.log_tail()}",
                node_id=component.id, run_id=self.run_id, log_path=outcome.result.log_path)
        return outcome

    def _check_upstream_ran(self, component: Component) -> None:
        needs: list[tuple[Component, str]] = [
            (channel.producer, f"input '{key}'")
            for key, channel in component.inputs.items() if channel is not None]
        needs.extend((node, "after()") for node in component.upstream)
        for node, why in needs:
            done = self._runs.get(node.id)
            hint = f"run it first: context.run({node.id})"
            if done is None:
                raise InputResolutionError(
                    f"node '{component.id}' needs node '{node.id}' ({why}), which has not been "
                    f"run in this session; {hint}")
            if done.component is not node:
                raise InputResolutionError(
                    f"node '{component.id}' needs node '{node.id}' ({why}), but the '{node.id}' "
                    f"run in this session is another object (was the cell that builds it run "
                    f"again?); run the one '{component.id}' uses: context.run({node.id})")
            if not done.result.succeeded:
                raise InputResolutionError(
                    f"node '{component.id}' needs node '{node.id}' ({why}), whose last run "
                    f"{done.state.lower()}; fix it and {hint}")
            if done.result.stop_reason is not None:
                raise InputResolutionError(
                    f"node '{component.id}' needs node '{node.id}' ({why}), which stopped the "
                    f"run: {done.result.stop_reason}")

    @staticmethod
    def _check_current_definition(component: Component) -> None:
        # A notebook re-defines a function component when its cell runs again. The launcher
        # runs the current definition, so a node built from an older, different one would be
        # refused by it with advice meant for pipeline files; say what to do in a notebook.
        cls = type(component)
        old = getattr(cls, "EXECUTOR_FUNCTION", None)
        if old is None or cls.__module__ != "__main__":
            return
        current = getattr(sys.modules.get("__main__"), cls.__qualname__, None)
        new = getattr(current, "EXECUTOR_FUNCTION", None)
        if current is not cls and new is not None and \
                function_fingerprint(new) != function_fingerprint(old):
            raise DefinitionError(
                f"node '{component.id}' was built from an earlier definition of "
                f"'{cls.__qualname__}', which has changed since; run the cell that builds the "
                f"node again, then run it")

    # ---- what ran ------------------------------------------------------------------------------

    @property
    def components(self) -> list[Component]:
        """The nodes run in this session: the latest of each id, in the order ids first ran."""
        return [r.component for r in self._runs.values()]

    def result(self, node: Component | str) -> ExecutionResult:
        """The latest run of ``node`` (a node, or a node id) in this session."""
        node_id = node if isinstance(node, str) else node.id
        if node_id not in self._runs:
            raise NotFoundError(f"node '{node_id}' has not been run in this session; run it first: "
                           f"context.run({node_id})")
        done = self._runs[node_id]
        if not isinstance(node, str) and done.component is not node:
            raise NotFoundError(f"this '{node_id}' node has not been run in this session (another "
                           f"node with that id was); run it first: context.run({node_id})")
        return done

    # ---- showing -------------------------------------------------------------------------------

    def show(self, item: Any) -> None:
        """Display ``item``: as HTML in Jupyter, as text elsewhere.

        ``item`` may be an artifact record or :class:`~conveyor.artifacts.Artifact` (with an
        id), a channel (``node.outputs.examples``: the artifact its node produced in this
        session), a node or an :class:`ExecutionResult` (the node's run and its outputs), or a
        list of these.
        """
        rendered = _Rendered(self.render_html(item), self.render_text(item))
        shell = _ipython_shell()
        if shell is None:
            print(rendered.text)
            return
        from IPython.display import display

        display(rendered)

    def render_html(self, item: Any) -> str:
        """The HTML :meth:`show` displays for ``item``."""
        parts = []
        for kind, value in self._expand(item):
            if kind == "result":
                parts.append(value._repr_html_())
            else:
                parts.append(views.artifact_html(value, self._lineage(value)))
        return "".join(parts)

    def render_text(self, item: Any) -> str:
        """The text :meth:`show` prints for ``item`` outside Jupyter."""
        parts = []
        for kind, value in self._expand(item):
            parts.append(repr(value) if kind == "result"
                         else views.artifact_text(value, self._lineage(value)))
        return "\n\n".join(parts)

    def _expand(self, item: Any) -> list[tuple[str, Any]]:
        if isinstance(item, (list, tuple)):
            return [part for element in item for part in self._expand(element)]
        if isinstance(item, ExecutionResult):
            return [("result", item), *self._expand([a for arts in item.outputs.values()
                                                     for a in arts])]
        if isinstance(item, Component):
            return self._expand(self.result(item))
        if isinstance(item, Channel):
            done = self.result(item.producer)
            return self._expand(done.outputs.get(item.key, []))
        if isinstance(item, ArtifactRecord):
            return [("artifact", self.store.get_artifact(item.id))]
        if isinstance(item, Artifact):
            if item.id is None:
                raise ValueError(f"{item!r} has no id: it was never recorded in metadata")
            return [("artifact", self.store.get_artifact(item.id))]
        if isinstance(item, int) and not isinstance(item, bool):
            return [("artifact", self.store.get_artifact(item))]
        raise TypeError(f"show() takes an artifact, a channel (node.outputs.<key>), a node or a "
                        f"run result; got {type(item).__name__} {item!r}")

    def _lineage(self, artifact: ArtifactRecord) -> dict[str, LineageGraph]:
        return {direction: self.store.lineage(artifact.id, direction, LINEAGE_HOPS)
                for direction in ("upstream", "downstream")}

    # ---- exporting -----------------------------------------------------------------------------

    def export_to_pipeline(self, path: str, *, pipeline_name: str | None = None,
                           pipeline_root: str | None = None) -> str:
        """Write the session's components as a pipeline file that ``conveyor run`` runs.

        Components defined in the notebook are written out with the functions, classes,
        constants and imports they use; others are imported from their modules. The pipeline
        keeps this session's name and root unless given others (same name and root: its
        runs share this session's metadata; see :mod:`conveyor.orchestrators.notebook_export`
        for what can and cannot be exported). Returns the absolute path written.
        """
        from conveyor.orchestrators.notebook_export import export_pipeline

        path = os.path.abspath(path)
        text = export_pipeline(
            self.components,
            pipeline_name=pipeline_name or self.pipeline_name,
            pipeline_root=os.path.abspath(pipeline_root) if pipeline_root
            else self.pipeline_root,
            metadata=self.metadata_url,
            enable_cache=self.enable_cache,
            beam_args=self.beam_args,
            session_module=sys.modules.get("__main__"),
            file_name=os.path.basename(path),
        )
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # ---- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the metadata store (it reopens if the context is used again)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> InteractiveContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"InteractiveContext(pipeline_name={self.pipeline_name!r}, "
                f"pipeline_root={self.pipeline_root!r}, run_id={self.run_id!r})")


def _with_ancestors(node: Component) -> list[Component]:
    """``node`` and every node it depends on, directly or not."""
    found: dict[int, Component] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) not in found:
            found[id(current)] = current
            stack.extend(Pipeline.dependencies(current))
    return list(reversed(found.values()))


def _ipython_shell() -> Any:
    # IPython is imported only if something already imported it (it has, inside a kernel).
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None
