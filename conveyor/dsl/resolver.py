"""Resolver nodes: pipeline nodes that find *existing* artifacts in ML Metadata instead of making
new ones.

::

    baseline = LatestBlessedModel(model_from="trainer", blessing_from="evaluator")
    evaluator = Evaluator(model=trainer.outputs.model, baseline_model=baseline.outputs.model, ...)

    previous = PreviousSpan(current=stats.outputs.statistics)
    check = ExampleValidator(statistics=stats.outputs.statistics, schema=...,
                             baseline_statistics=previous.outputs.statistics,
                             drift={"size": {"jensen_shannon_divergence": 0.1}})

A resolver is a node like any other: it is compiled into the IR (``"kind": "resolver"``), so the
local runner, the notebook, and each Kubeflow or Airflow task run it through the same launcher
and entrypoint; open-source Kubeflow needs no resolver support of its own. Its "execution" queries
the metadata store (see :mod:`conveyor.runtime.resolvers`) and is recorded as a COMPLETE
execution (property ``resolver``) whose OUTPUT events name the artifacts found; downstream nodes
then resolve their inputs from it as from any node, and their cache keys hold the found ids.

Rules shared by every resolver:

- **Never cached**: it always queries the newest metadata.
- **Which runs it sees**: artifacts of *earlier* runs; of the current run, only those made by
  nodes the resolver depends on (its inputs, and nodes given to ``.after()``). So a resolver
  never picks up, by a race, what a node it does not wait for happens to have finished already.
  Only LIVE artifacts count.
- **Nothing found is a result**: the outputs are empty, and the downstream executor receives
  None (or ``[]`` for ``many`` inputs). An input wired to a resolver must therefore be optional
  (``Input(default=None)``), unless the resolver is built with ``required=True``, which makes it
  fail (and stop what depends on it) when it finds nothing.
- Nodes named by id (``model_from="trainer"``, or the component object itself, which creates no
  dependency) are checked when the pipeline is built: they must exist and have an output of the
  right type.

A resolver of one's own is a subclass of :class:`Resolver` whose ``executor`` names a function
``(query: ResolverQuery, **parameters) -> Resolution`` (see :mod:`conveyor.runtime.resolvers`);
a query that raises, or returns anything else, fails the node.

Why nodes are *named* rather than wired (TFX's resolvers take channels too): wiring
``trainer.outputs.model`` would make the resolver wait for this run's trainer, and its answer
would then depend on this run's model; a baseline must come from before. PreviousSpan is the
exception that proves it: it must know this run's span, so it takes this run's artifact as its
input, and only looks at spans before it.
"""
from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias, TypeVar, cast

from conveyor.artifacts import Artifact, Examples, Model, ModelBlessing, registered_types
from conveyor.dsl.channel import Channel
from conveyor.dsl.component import Component
from conveyor.dsl.fields import Input, Output, Parameter
from conveyor.dsl.spec import OutputSpec, snake_case
from conveyor.errors import (
    ArgumentError,
    ArtifactTypeError,
    DefinitionError,
    ParameterTypeError,
    did_you_mean,
)

#: The IR ``kind`` of resolver nodes.
RESOLVER = "resolver"


class Resolver(Component):
    """Base class of resolver nodes (see the module docstring)."""

    KIND = RESOLVER
    #: Whether the output holds a list (e.g. several spans): consumers must take ``many``.
    MANY: ClassVar[bool] = False
    #: Parameter name -> artifact type the node it names must output (checked in the pipeline);
    #: None stands for the type of the resolver's own (single) output.
    REFERENCES: ClassVar[Mapping[str, type[Artifact] | None]] = {}

    required: bool = Parameter(default=False,
                               description="fail when nothing is found, instead of resolving "
                                           "to nothing")

    def __init__(self, *, id: str | None = None, **kwargs: Any) -> None:
        # A node named by its component object is remembered: its id may change until the
        # pipeline is built, and naming it creates no dependency.
        self._references: dict[str, Component] = {}
        for name in type(self).REFERENCES:
            if isinstance(kwargs.get(name), Component):
                self._references[name] = kwargs[name]
                kwargs[name] = kwargs[name].id
        super().__init__(id=id, **kwargs)
        self.enable_cache = False

    @classmethod
    def default_id(cls) -> str:
        """The class name in snake_case (also for the typed subclasses made per artifact type)."""
        return snake_case(cls.SPEC.name)

    @classmethod
    def declared_class(cls) -> type[Component]:
        """The resolver class its module declares, not the subclass made for an artifact type."""
        return _declared(cls)

    def with_cache(self, enabled: bool) -> Component:
        """Resolvers never reuse earlier results: they must see the newest metadata."""
        if enabled:
            raise DefinitionError(f"{type(self).SPEC.name} '{self.id}' is a resolver and never "
                                  f"cached: it queries the newest metadata on every run")
        return self

    def check_in_pipeline(self, pipeline: str, nodes: Mapping[str, Component], *,
                          partial: bool = False) -> None:
        """Named nodes exist with an output of the right type (when the pipeline is whole);
        consumers can take what this resolver gives (optional unless ``required``, ``many``
        for lists)."""
        for name, artifact_type in self.REFERENCES.items():
            if artifact_type is None:
                [output] = type(self).SPEC.outputs.values()
                artifact_type = output.type
            if name in self._references:  # ids may change until the pipeline is built
                self.parameters[name] = self._references[name].id
            if not partial:
                self._check_reference(pipeline, nodes, name, artifact_type)
        for consumer in nodes.values():
            for key, channel in consumer.inputs.items():
                if channel is None or channel.producer is not self:
                    continue
                ispec = type(consumer).SPEC.inputs[key]
                where = (f"pipeline '{pipeline}' node '{consumer.id}' field '{key}' takes "
                         f"'{channel.key}' of resolver '{self.id}'")
                if not ispec.optional and not self.parameters["required"]:
                    raise DefinitionError(
                        f"{where}, which may find nothing; declare the input optional "
                        f"(Input(default=None)), or build the resolver with required=True to "
                        f"fail the run when it finds nothing")
                if self.MANY and not ispec.many:
                    raise DefinitionError(
                        f"{where}, a list of artifacts; declare the input Input(many=True)")

    def _check_reference(self, pipeline: str, nodes: Mapping[str, Component], name: str,
                         artifact_type: type[Artifact]) -> None:
        node_id = self.parameters[name]
        if node_id is None or self._searches_elsewhere(pipeline):
            return
        where = f"pipeline '{pipeline}' node '{self.id}' field '{name}'"
        if node_id not in nodes:
            raise DefinitionError(
                f"{where}: no node '{node_id}' in the pipeline.{did_you_mean(node_id, nodes)} "
                f"Nodes: {', '.join(nodes)}")
        if isinstance(nodes[node_id], Resolver):
            raise DefinitionError(
                f"{where}: node '{node_id}' is a resolver, which makes no artifacts (it finds "
                f"those of other nodes); name the node that makes them")
        outputs = type(nodes[node_id]).SPEC.outputs
        matching = [k for k, o in outputs.items() if issubclass(o.type, artifact_type)]
        if len(matching) != 1:
            has = ", ".join(f"{k} ({o.type.TYPE_NAME})" for k, o in outputs.items()) or "none"
            problem = "no output" if not matching else "more than one output"
            raise ArtifactTypeError(
                f"{where}: node '{node_id}' has {problem} of type {artifact_type.TYPE_NAME} "
                f"(its outputs: {has}); name a node with exactly one")

    def _searches_elsewhere(self, pipeline: str) -> bool:
        other = self.parameters.get("pipeline")
        return other is not None and other != pipeline


R = TypeVar("R", bound="Resolver")
#: An artifact class, or its type name; spelled so in the classes below, whose field ``type``
#: hides the builtin there.
ArtifactType: TypeAlias = "type[Artifact] | str"

_TYPED: dict[tuple[type, tuple[tuple[str, type], ...], tuple[tuple[str, type], ...]],
             type[Resolver]] = {}


def _typed(cls: type[R], inputs: Mapping[str, type[Artifact]],
           outputs: Mapping[str, type[Artifact]]) -> type[R]:
    """A subclass of ``cls`` whose inputs and outputs have the given types (the class declares
    them as plain ``Artifact``): what the IR's artifact types and the wiring checks read."""
    base = _declared(cls)
    key = (base, tuple(inputs.items()), tuple(outputs.items()))
    if key not in _TYPED:
        spec = dataclasses.replace(
            base.SPEC,
            inputs={k: dataclasses.replace(s, type=inputs.get(k, s.type))
                    for k, s in base.SPEC.inputs.items()},
            outputs={k: OutputSpec(k, t) for k, t in outputs.items()},
        )
        _TYPED[key] = types.new_class(
            base.__name__, (base,), {"spec": spec},
            lambda ns: ns.update({"__module__": base.__module__,
                                  "__qualname__": base.__qualname__, "_IS_TYPED": True}))
    return cast(type[R], _TYPED[key])


def _declared(cls: type[Resolver]) -> type[Resolver]:
    return next(c for c in cls.__mro__
                if issubclass(c, Resolver) and not c.__dict__.get("_IS_TYPED"))


def _instance(cls: type[R]) -> R:
    """A new, uninitialised node of ``cls`` (a typed subclass): what ``__new__`` returns."""
    return object.__new__(cls)


def _artifact_type(owner: str, artifact_type: Any, *, spans: bool = False) -> type[Artifact]:
    if isinstance(artifact_type, str):  # a type name, as the IR and exported notebooks hold it
        known = registered_types()
        if artifact_type not in known:
            raise ParameterTypeError(
                f"{owner}(type={artifact_type!r}): no artifact type of that name."
                f"{did_you_mean(artifact_type, known)} Pass the class, e.g. type=Examples")
        artifact_type = known[artifact_type]
    if not (isinstance(artifact_type, type) and issubclass(artifact_type, Artifact)):
        raise ParameterTypeError(f"{owner}(type=...) expects an artifact class such as "
                                 f"Examples, got {artifact_type!r}")
    if spans and "span" not in artifact_type.PROPERTIES:
        raise ArtifactTypeError(f"{owner}(type={artifact_type.__name__}): the type has no 'span' "
                                f"property; use a type with spans, e.g. Examples or "
                                f"ExampleStatistics")
    return artifact_type


class LatestBlessedModel(Resolver):
    """The newest Model made by node ``model_from`` of this pipeline in an earlier run and blessed
    by node ``blessing_from``: a LIVE ModelBlessing with custom property ``blessed`` = 1 whose
    ``current_model_id`` (or, without it, the blessing execution's input ``model``) is that
    model. "Newest" is the most recently made model among those blessed, so a newer model that
    was not blessed never wins. Outputs the model and its (newest) blessing; both are empty when
    no model has been blessed yet, the baseline an Evaluator then goes without."""

    REFERENCES = {"model_from": Model, "blessing_from": ModelBlessing}

    model_from: str = Parameter(description="node id of the trainer")
    blessing_from: str = Parameter(description="node id of the evaluator")
    model: Channel[Model] = Output()
    blessing: Channel[ModelBlessing] = Output()
    executor = "conveyor.runtime.resolvers:latest_blessed_model"

    def __init__(self, *, model_from: str | Component, blessing_from: str | Component,
                 required: bool = False, id: str | None = None) -> None:
        super().__init__(model_from=model_from, blessing_from=blessing_from,
                         required=required, id=id)


class LatestArtifact(Resolver):
    """The newest LIVE artifact of ``type`` (a class, or its type name), made by node
    ``producer`` (any node when None) of ``pipeline`` (default: this pipeline, whose
    ``producer`` is then checked to exist)."""

    REFERENCES = {"producer": None}

    type: str = Parameter(description="artifact type name")
    producer: str | None = Parameter(default=None, description="node id that made it")
    pipeline: str | None = Parameter(default=None, description="pipeline to search")
    artifact: Channel[Artifact] = Output()
    executor = "conveyor.runtime.resolvers:latest_artifact"

    def __new__(cls, *, type: ArtifactType, **kwargs: Any) -> LatestArtifact:
        wanted = _artifact_type("LatestArtifact", type)
        return _instance(_typed(cls, {}, {"artifact": wanted}))

    def __init__(self, *, type: ArtifactType, producer: str | Component | None = None,
                 pipeline: str | None = None, required: bool = False,
                 id: str | None = None) -> None:
        super().__init__(type=_artifact_type("LatestArtifact", type).TYPE_NAME,
                         producer=producer, pipeline=pipeline, required=required, id=id)


class SpanRange(Resolver):
    """Artifacts of ``type`` (default Examples) made by node ``producer`` whose ``span`` is
    between ``start_span_number`` and ``end_span_number`` (inclusive; None: no upper bound),
    one per span (its highest ``version``, then the newest), oldest span first. Consumers take
    them with ``Input(many=True)``."""

    MANY = True
    REFERENCES = {"producer": None}

    producer: str = Parameter(description="node id that made the spans")
    start_span_number: int = Parameter(default=0, description="first span")
    end_span_number: int | None = Parameter(default=None, description="last span")
    type: str = Parameter(default="Examples", description="artifact type name")
    artifacts: Channel[Artifact] = Output()
    executor = "conveyor.runtime.resolvers:span_range"

    def __new__(cls, *, type: ArtifactType = Examples, **kwargs: Any) -> SpanRange:
        wanted = _artifact_type("SpanRange", type, spans=True)
        return _instance(_typed(cls, {}, {"artifacts": wanted}))

    def __init__(self, *, producer: str | Component, start_span_number: int = 0,
                 end_span_number: int | None = None, type: ArtifactType = Examples,
                 required: bool = False, id: str | None = None) -> None:
        super().__init__(producer=producer, start_span_number=start_span_number,
                         end_span_number=end_span_number,
                         type=_artifact_type("SpanRange", type).TYPE_NAME, required=required,
                         id=id)
        if end_span_number is not None and end_span_number < start_span_number:
            raise ArgumentError(f"SpanRange '{self.id}': end_span_number {end_span_number} is "
                                f"before start_span_number {start_span_number}")


class LatestSpans(Resolver):
    """The ``n`` newest spans of ``type`` (default Examples) made by node ``producer``, one
    artifact per span (its highest ``version``, then the newest), oldest span first."""

    MANY = True
    REFERENCES = {"producer": None}

    producer: str = Parameter(description="node id that made the spans")
    n: int = Parameter(default=1, description="how many spans")
    type: str = Parameter(default="Examples", description="artifact type name")
    artifacts: Channel[Artifact] = Output()
    executor = "conveyor.runtime.resolvers:latest_spans"

    def __new__(cls, *, type: ArtifactType = Examples, **kwargs: Any) -> LatestSpans:
        wanted = _artifact_type("LatestSpans", type, spans=True)
        return _instance(_typed(cls, {}, {"artifacts": wanted}))

    def __init__(self, *, producer: str | Component, n: int = 1,
                 type: ArtifactType = Examples, required: bool = False,
                 id: str | None = None) -> None:
        super().__init__(producer=producer, n=n, type=_artifact_type("LatestSpans", type)
                         .TYPE_NAME, required=required, id=id)
        if n < 1:
            raise ArgumentError(f"LatestSpans '{self.id}': n must be at least 1, got {n}")


class PreviousSpan(Resolver):
    """The artifact of an earlier span than ``current``'s, from the same node and output: the
    ``offset``-th nearest span below it among those made (1: the span just before), at its
    highest ``version``. Waits for ``current`` in this run to know the current span. Its output
    is named like ``current``'s (``PreviousSpan(current=stats.outputs.statistics)
    .outputs.statistics``) and is empty while there is no earlier span."""

    current: Channel[Artifact] = Input(description="this run's artifact")
    offset: int = Parameter(default=1, description="how many spans back")
    executor = "conveyor.runtime.resolvers:previous_span"

    def __new__(cls, *, current: Channel[Any], **kwargs: Any) -> PreviousSpan:
        if not isinstance(current, Channel):
            raise ArtifactTypeError(f"PreviousSpan.current expects a channel (an output such as "
                                    f"<node>.outputs.<name>), got {current!r}")
        wanted = _artifact_type("PreviousSpan", current.artifact_type, spans=True)
        if current.key in cls.SPEC.field_names():
            raise DefinitionError(f"PreviousSpan: its output would be named '{current.key}' "
                                  f"like the channel, which is one of its own fields")
        return _instance(_typed(cls, {"current": wanted}, {current.key: wanted}))

    def __init__(self, *, current: Channel[Any], offset: int = 1, required: bool = False,
                 id: str | None = None) -> None:
        super().__init__(current=current, offset=offset, required=required, id=id)
        if offset < 1:
            raise ArgumentError(f"PreviousSpan '{self.id}': offset must be at least 1, got "
                                f"{offset}")


__all__ = ["LatestArtifact", "LatestBlessedModel", "LatestSpans", "PreviousSpan",
           "Resolver", "SpanRange"]
