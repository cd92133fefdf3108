"""The metadata queries behind resolver nodes (declared in :mod:`conveyor.dsl.resolver`).

The launcher calls a resolver node's function (named by its IR ``executor``) with a
:class:`ResolverQuery` and the node's parameters as keyword arguments; the function returns a
:class:`Resolution`: the existing artifacts found per output key (empty when nothing is found)
and a sentence saying what was found, or why nothing, which is recorded on the execution and
shown by ``conveyor show RUN``. The functions only read the store; recording is the launcher's.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.artifacts import LIVE
from conveyor.ir.model import NodeIR
from conveyor.metadata.records import ArtifactRecord, ExecutionRecord
from conveyor.metadata.store import MetadataStore

#: ModelBlessing custom properties written by the Evaluator.
BLESSED, CURRENT_MODEL_ID = "blessed", "current_model_id"


@dataclass
class Resolution:
    """What a resolver found: artifacts per output key, and a sentence about it."""

    outputs: dict[str, list[ArtifactRecord]]
    note: str

    @property
    def empty(self) -> bool:
        """Whether nothing at all was found."""
        return not any(self.outputs.values())


@dataclass
class ResolverQuery:
    """A resolver node's view of the metadata store, within one run.

    It sees LIVE artifacts made in other runs, and those made in this run by the nodes the
    resolver depends on (``depends_on``: its inputs' producers and ``after()`` nodes); see
    :mod:`conveyor.dsl.resolver`.
    """

    store: MetadataStore
    pipeline: str
    run_id: str
    node: NodeIR
    inputs: Mapping[str, list[ArtifactRecord]] = field(default_factory=dict)

    @property
    def depends_on(self) -> set[str]:
        """Node ids of this pipeline whose outputs in this run the resolver may see."""
        return {*(r.producer for r in self.node.inputs.values()), *self.node.upstream}

    def visible(self, made_by: ExecutionRecord) -> bool:
        """Whether an artifact made by ``made_by`` may be resolved in this run."""
        return made_by.run_id != self.run_id or (
            made_by.pipeline == self.pipeline and made_by.node_id in self.depends_on)

    def candidates(self, type_name: str, producer: str | None,
                   pipeline: str | None = None) -> list[tuple[ArtifactRecord, ExecutionRecord]]:
        """Visible LIVE artifacts of ``type_name`` made by node ``producer`` (any node when None)
        of ``pipeline`` (default: this one), newest first, each with the execution that made
        it."""
        pipeline = pipeline or self.pipeline
        found = self.store.find_artifacts(type_name=type_name, pipeline=pipeline,
                                          node_id=producer, state=LIVE, newest_first=True)
        makers = self.store.original_producers([a.id for a in found])
        return [(a, makers[a.id]) for a in found if a.id in makers
                and makers[a.id].pipeline == pipeline
                and (producer is None or makers[a.id].node_id == producer)
                and self.visible(makers[a.id])]

    def output_type(self, key: str) -> str:
        """The artifact type name of the node's output ``key``."""
        return self.node.outputs[key]


def _where(query: ResolverQuery, producer: str | None) -> str:
    node = f"node '{producer}'" if producer else "any node"
    return f"{node} of pipeline '{query.pipeline}'"


def latest_blessed_model(query: ResolverQuery, *, model_from: str, blessing_from: str,
                         required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.LatestBlessedModel`."""
    del required  # enforced by the launcher
    blessing_of: dict[int, ArtifactRecord] = {}
    for blessing, made_by in query.candidates(query.output_type("blessing"), blessing_from):
        if blessing.custom_properties.get(BLESSED) not in (1, True):
            continue
        model_id = blessing.custom_properties.get(CURRENT_MODEL_ID)
        if not isinstance(model_id, int) or isinstance(model_id, bool):
            evaluated = query.store.execution_io(made_by.id).inputs.get("model", [])
            model_id = evaluated[0].id if evaluated else None
        if model_id is not None:
            blessing_of.setdefault(model_id, blessing)  # newest blessing first
    models = query.candidates(query.output_type("model"), model_from)
    for model, made_by in models:  # newest model first
        if model.id in blessing_of:
            blessing = blessing_of[model.id]
            return Resolution(
                {"model": [model], "blessing": [blessing]},
                f"model {model.id} (made in run {made_by.run_id}), blessed by {blessing.id}")
    return Resolution({"model": [], "blessing": []},
                      f"nothing found: no live model of {_where(query, model_from)} from an "
                      f"earlier run is blessed by node '{blessing_from}' "
                      f"({len(models)} model(s), {len(blessing_of)} blessed)")


def latest_artifact(query: ResolverQuery, *, type: str, producer: str | None,
                    pipeline: str | None, required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.LatestArtifact`."""
    del required
    type_name = type
    found = query.candidates(type_name, producer, pipeline)
    if not found:
        where = _where(query, producer) if pipeline in (None, query.pipeline) else \
            f"node '{producer or 'any'}' of pipeline '{pipeline}'"
        return Resolution({"artifact": []}, f"nothing found: no live {type_name} of {where} "
                                            f"from an earlier run")
    artifact, made_by = found[0]
    return Resolution({"artifact": [artifact]},
                      f"{type_name} {artifact.id} (made in run {made_by.run_id})")


def _by_span(found: list[tuple[ArtifactRecord, ExecutionRecord]]) -> dict[int, ArtifactRecord]:
    """One artifact per span: the highest version, then the newest (``found`` is newest first)."""
    best: dict[int, ArtifactRecord] = {}
    for artifact, _ in found:
        span = artifact.properties.get("span")
        if not isinstance(span, int):
            continue
        version = artifact.properties.get("version") or 0
        held = best.get(span)
        if held is None or version > (held.properties.get("version") or 0):
            best[span] = artifact
    return best


def _spans_note(type_name: str, chosen: dict[int, ArtifactRecord]) -> str:
    return f"{type_name} of span(s) " + ", ".join(
        f"{span} (artifact {a.id})" for span, a in sorted(chosen.items()))


def span_range(query: ResolverQuery, *, type: str, producer: str, start_span_number: int,
               end_span_number: int | None, required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.SpanRange`."""
    del required
    type_name = type
    spans = _by_span(query.candidates(type_name, producer))
    chosen = {s: a for s, a in spans.items() if s >= start_span_number
              and (end_span_number is None or s <= end_span_number)}
    if not chosen:
        bounds = f"{start_span_number}..{'' if end_span_number is None else end_span_number}"
        return Resolution({"artifacts": []},
                          f"nothing found: no live {type_name} of {_where(query, producer)} "
                          f"with a span in {bounds} (spans made: "
                          f"{', '.join(map(str, sorted(spans))) or 'none'})")
    return Resolution({"artifacts": [chosen[s] for s in sorted(chosen)]},
                      _spans_note(type_name, chosen))


def latest_spans(query: ResolverQuery, *, type: str, producer: str, n: int,
                 required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.LatestSpans`."""
    del required
    type_name = type
    spans = _by_span(query.candidates(type_name, producer))
    chosen = {s: spans[s] for s in sorted(spans)[-n:]}
    if not chosen:
        return Resolution({"artifacts": []}, f"nothing found: no live {type_name} with a span "
                                             f"of {_where(query, producer)}")
    return Resolution({"artifacts": [chosen[s] for s in sorted(chosen)]},
                      _spans_note(type_name, chosen))


def previous_span(query: ResolverQuery, *, offset: int, required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.PreviousSpan`."""
    del required
    [key] = query.node.outputs
    ref = query.node.inputs["current"]
    [current] = query.inputs["current"]
    span = current.properties.get("span")
    if not isinstance(span, int):
        return Resolution({key: []}, f"nothing found: the current {ref.type} (artifact "
                                     f"{current.id}) has no span")
    spans = _by_span(query.candidates(ref.type, ref.producer))
    earlier = sorted((s for s in spans if s < span), reverse=True)
    if len(earlier) < offset:
        return Resolution({key: []},
                          f"nothing found: no live {ref.type} of {_where(query, ref.producer)} "
                          f"{offset} span(s) before span {span} (earlier spans: "
                          f"{', '.join(map(str, sorted(earlier))) or 'none'})")
    chosen = spans[earlier[offset - 1]]
    return Resolution({key: [chosen]}, f"{ref.type} {chosen.id} of span {earlier[offset - 1]}, "
                                       f"{offset} before the current span {span}")
