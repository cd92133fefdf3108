"""The metadata queries behind resolver nodes (declared in :mod:`conveyor.dsl.resolver`).

The launcher calls a resolver node's function (named by its IR ``executor``) with a
:class:`ResolverQuery` and the node's parameters as keyword arguments; the function returns a
:class:`Resolution`: the existing artifacts found per output key (empty when nothing is found)
and a sentence saying what was found, or why nothing, which is recorded on the execution and
shown by ``conveyor show RUN``. The functions only read the store; recording is the launcher's.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from conveyor.artifacts import LIVE
from conveyor.errors import NotFoundError
from conveyor.ir.model import NodeIR
from conveyor.metadata.records import ArtifactRecord, ExecutionRecord
from conveyor.metadata.store import MetadataStore

#: ModelBlessing custom properties written by the Evaluator.
BLESSED, CURRENT_MODEL_ID = "blessed", "current_model_id"
#: Artifacts read from the store at a time while looking for the newest.
PAGE = 50


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

    def candidates(self, type_name: str, producer: str | None, pipeline: str | None = None,
                   ) -> Iterator[tuple[ArtifactRecord, ExecutionRecord]]:
        """Visible LIVE artifacts of ``type_name`` made by node ``producer`` (any node when None)
        of ``pipeline`` (default: this one), newest first, each with the execution that made
        it; read from the store a page at a time, so stopping early reads little."""
        cursor: int | None = None
        while True:
            page = self.store.find_made_artifacts(
                type_name=type_name, pipeline=pipeline or self.pipeline, node_id=producer,
                state=LIVE, limit=PAGE, before_id=cursor)
            for artifact, made_by in page:
                if self.visible(made_by):
                    yield artifact, made_by
            if len(page) < PAGE:
                return
            cursor = page[-1][0].id

    def made_by(self, artifact_id: int, type_name: str,
                producer: str) -> tuple[ArtifactRecord, ExecutionRecord] | None:
        """Artifact ``artifact_id`` and its maker, if it is a visible LIVE ``type_name`` made by
        node ``producer`` of this pipeline; else None."""
        try:
            artifact = self.store.get_artifact(artifact_id)
        except NotFoundError:
            return None
        maker = self.store.original_producers([artifact_id]).get(artifact_id)
        if maker is None or artifact.state != LIVE or artifact.type_name != type_name or \
                maker.pipeline != self.pipeline or maker.node_id != producer or \
                not self.visible(maker):
            return None
        return artifact, maker

    def output_type(self, key: str) -> str:
        """The artifact type name of the node's output ``key``."""
        return self.node.outputs[key]


def _where(query: ResolverQuery, producer: str | None) -> str:
    node = f"node '{producer}'" if producer else "any node"
    return f"{node} of pipeline '{query.pipeline}'"


def latest_blessed_model(query: ResolverQuery, *, model_from: str, blessing_from: str,
                         required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.LatestBlessedModel`.

    Blessings are read newest first. A blessing's model was made before the blessing (ids
    grow), so once a blessing is older than the best model found, no blessing left can name a
    newer one: the scan stops there, after a page or two however long the history."""
    del required  # enforced by the launcher
    best: tuple[ArtifactRecord, ExecutionRecord, ArtifactRecord] | None = None
    blessed = 0
    for blessing, made_by in query.candidates(query.output_type("blessing"), blessing_from):
        if best is not None and blessing.id < best[0].id:
            break
        if blessing.custom_properties.get(BLESSED) not in (1, True):
            continue
        blessed += 1
        model_id = blessing.custom_properties.get(CURRENT_MODEL_ID)
        if not isinstance(model_id, int) or isinstance(model_id, bool):
            evaluated = query.store.execution_io(made_by.id).inputs.get("model", [])
            model_id = evaluated[0].id if evaluated else None
        if model_id is None or (best is not None and model_id <= best[0].id):
            continue
        found = query.made_by(model_id, query.output_type("model"), model_from)
        if found is not None:
            best = (*found, blessing)
    if best is None:
        return Resolution({"model": [], "blessing": []},
                          f"nothing found: no live model of {_where(query, model_from)} from an "
                          f"earlier run is blessed by node '{blessing_from}'"
                          + (f" ({blessed} blessing(s) name models not eligible: gone, of this "
                             f"run, or made elsewhere)" if blessed else ""))
    model, model_maker, blessing = best
    return Resolution({"model": [model], "blessing": [blessing]},
                      f"model {model.id} (made in run {model_maker.run_id}), blessed by "
                      f"{blessing.id}")


def latest_artifact(query: ResolverQuery, *, type: str, producer: str | None,
                    pipeline: str | None, required: bool = False) -> Resolution:
    """See :class:`conveyor.dsl.resolver.LatestArtifact`."""
    del required
    type_name = type
    found = next(query.candidates(type_name, producer, pipeline), None)
    if found is None:
        where = _where(query, producer) if pipeline in (None, query.pipeline) else \
            f"node '{producer or 'any'}' of pipeline '{pipeline}'"
        return Resolution({"artifact": []}, f"nothing found: no live {type_name} of {where} "
                                            f"from an earlier run")
    artifact, made_by = found
    return Resolution({"artifact": [artifact]},
                      f"{type_name} {artifact.id} (made in run {made_by.run_id})")


def _by_span(found: Iterable[tuple[ArtifactRecord, ExecutionRecord]]) \
        -> dict[int, ArtifactRecord]:
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
