"""The Component base class: a node's typed declaration, checked when the node is built.

A subclass is the spec::

    class Trainer(Component):
        \"\"\"Trains a model with the user's run_fn.\"\"\"
        examples: Channel[Examples] = Input()
        module_file: str = Parameter(module_file=True)
        train_steps: int = Parameter(default=1_000, minimum=1)
        model: Channel[Model] = Output()
        executor = "conveyor.components.trainer.executor:run"

Building one checks every argument at once: unknown names (with a did-you-mean), missing
required arguments, artifact types of input channels, types of parameter values and numbers
below a field's ``minimum`` (a runtime parameter's value is checked when a run starts).
"""
from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, dataclass_transform

from conveyor.artifacts import Artifact
from conveyor.dsl.channel import Channel, RuntimeParameter
from conveyor.dsl.fields import (
    MISSING,
    Input,
    InputField,
    Output,
    OutputField,
    Parameter,
    ParameterField,
)
from conveyor.dsl.spec import (
    RESERVED_NAMES,
    ComponentSpec,
    InputSpec,
    OutputSpec,
    ParameterSpec,
    below_minimum,
    snake_case,
)
from conveyor.dsl.typecheck import describe, is_supported, matches
from conveyor.errors import (
    ArgumentError,
    ArtifactTypeError,
    DefinitionError,
    ParameterTypeError,
    did_you_mean,
)


class Outputs:
    """The output channels of one node, by attribute (``node.outputs.model``) or by key."""

    def __init__(self, node: Component, channels: dict[str, Channel[Any]]) -> None:
        self._node = node
        self._channels = channels

    def __getattr__(self, key: str) -> Channel[Any]:
        if key.startswith("_") or key not in self._channels:
            raise AttributeError(self._missing(key))
        return self._channels[key]

    def __getitem__(self, key: str) -> Channel[Any]:
        if key not in self._channels:
            raise KeyError(self._missing(key))
        return self._channels[key]

    def _missing(self, key: str) -> str:
        return (f"{type(self._node).__name__} '{self._node.id}' has no output '{key}'."
                f"{did_you_mean(key, self._channels)} "
                f"Outputs: {', '.join(self._channels) or '(none)'}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)

    def __dir__(self) -> list[str]:
        return list(self._channels)


def _parse_class_fields(cls: type) -> tuple[dict[str, InputSpec], dict[str, OutputSpec],
                                             dict[str, ParameterSpec]]:
    inputs: dict[str, InputSpec] = {}
    outputs: dict[str, OutputSpec] = {}
    parameters: dict[str, ParameterSpec] = {}
    try:
        hints = typing.get_type_hints(cls)
    except NameError as err:
        raise DefinitionError(f"{cls.__name__}: cannot resolve an annotation ({err}); define or "
                              f"import the type at module level") from err
    for klass in reversed(cls.__mro__):
        base_spec = vars(klass).get("SPEC")
        if isinstance(base_spec, ComponentSpec):
            # A component base class: its field declarations were turned into its SPEC (and
            # removed from the class), so inherit them from there.
            inputs.update(base_spec.inputs)
            outputs.update(base_spec.outputs)
            parameters.update(base_spec.parameters)
        for name, value in list(vars(klass).items()):
            if not isinstance(value, (InputField, OutputField, ParameterField)):
                continue
            where = f"{cls.__name__}.{name}"
            if name in RESERVED_NAMES:
                raise DefinitionError(f"{where}: '{name}' is reserved; choose another field name")
            annotation = hints.get(name)
            if annotation is None:
                raise DefinitionError(f"{where} needs a type annotation")
            if isinstance(value, ParameterField):
                if not is_supported(annotation):
                    raise DefinitionError(
                        f"{where}: parameters must be JSON-like (int, float, str, bool, list, "
                        f"dict[str, ...], Literal, Optional); got {describe(annotation)}"
                    )
                check_default(where, annotation, value.default)
                if value.minimum is not None and not (
                        matches(annotation, value.minimum) and not isinstance(value.minimum, bool)):
                    raise DefinitionError(f"{where}: minimum={value.minimum!r} needs a number "
                                          f"parameter, and this one is {describe(annotation)}")
                problem = below_minimum(value.minimum, value.default)
                if problem:
                    raise DefinitionError(f"{where}: the default {problem}")
                parameters[name] = ParameterSpec(
                    name, annotation, value.default, value.module_file, value.external_files,
                    value.description, value.minimum,
                )
                continue
            artifact_type, optional = _channel_type(where, annotation)
            if isinstance(value, InputField):
                inputs[name] = InputSpec(
                    name, artifact_type, value.optional or optional, value.many,
                    value.description,
                )
            else:
                outputs[name] = OutputSpec(name, artifact_type, value.description)
    return inputs, outputs, parameters


def check_default(where: str, annotation: Any, default: Any) -> None:
    """Refuse a parameter default that its own annotation does not admit."""
    if default is not MISSING and not matches(annotation, default):
        raise DefinitionError(f"{where}: the default {default!r} is not of the declared type "
                              f"{describe(annotation)}; fix the default or the annotation")


def _contains_runtime_parameter(value: Any) -> bool:
    if isinstance(value, RuntimeParameter):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_runtime_parameter(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_runtime_parameter(v) for v in value.values())
    return False


def _channel_type(where: str, annotation: Any) -> tuple[type[Artifact], bool]:
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else annotation
    params = typing.get_args(annotation)
    if typing.get_origin(annotation) is Channel and params and isinstance(params[0], type) \
            and issubclass(params[0], Artifact):
        return params[0], optional
    raise DefinitionError(
        f"{where} must be annotated Channel[<Artifact type>], e.g. Channel[Examples]; "
        f"got {describe(annotation)}"
    )


@dataclass_transform(kw_only_default=True, field_specifiers=(Input, Output, Parameter))
class Component:
    """Base class of every component; see the module docstring for how to declare one."""

    SPEC: ClassVar[ComponentSpec]
    #: "module:function" of the executor; set by each concrete component.
    executor: ClassVar[str] = ""
    #: How the launcher runs the node: ``"executor"`` (call the executor, publish new outputs)
    #: or ``"resolver"`` (query metadata for existing artifacts; see :mod:`conveyor.dsl.resolver`).
    KIND: ClassVar[str] = "executor"

    id: str
    inputs: dict[str, Channel[Any] | None]
    parameters: dict[str, Any]
    upstream: list[Component]
    enable_cache: bool

    def __init_subclass__(cls, spec: ComponentSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is None:
            inputs, outputs, parameters = _parse_class_fields(cls)
            spec = ComponentSpec(
                name=cls.__name__,
                type_name=f"{cls.__module__}.{cls.__qualname__}",
                executor=cls.executor,
                inputs=inputs,
                outputs=outputs,
                parameters=parameters,
                description=(cls.__doc__ or "").strip().split("\n")[0],
            )
        cls.SPEC = spec
        for name in (*spec.inputs, *spec.outputs, *spec.parameters):
            # Field declarations are specs, not values: instances answer from their dicts.
            if isinstance(cls.__dict__.get(name), (InputField, OutputField, ParameterField)):
                delattr(cls, name)

    @classmethod
    def declared_class(cls) -> type[Component]:
        """The class as its module declares it (what code importing it names): ``cls``, except
        for the per-artifact-type subclasses that resolvers make."""
        return cls

    @classmethod
    def default_id(cls) -> str:
        """The node id used when none is given: the class name in snake_case."""
        return snake_case(cls.__name__)

    def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
        spec = type(self).SPEC
        call = f"{spec.name}()"
        if args:
            raise ArgumentError(
                f"{call} takes keyword arguments only, got {len(args)} positional argument(s). "
                f"Name them: {call[:-1]}{', '.join(f'{n}=...' for n in spec.field_names()[:3])})"
            )
        if not spec.executor:
            raise DefinitionError(
                f"{spec.name} has no executor; set executor = \"module:function\" on the class"
            )
        self.id = id or self.default_id()
        problems: list[str] = []
        for name in kwargs:
            if name in spec.outputs:
                problems.append(
                    f"{call} got '{name}', which is an output; outputs are created by the "
                    f"component: use {self.id}.outputs.{name}"
                )
            elif name not in spec.inputs and name not in spec.parameters:
                problems.append(
                    f"{call} got an unexpected keyword argument '{name}'."
                    f"{did_you_mean(name, spec.field_names())}"
                    f" Accepted: {', '.join(spec.field_names())}"
                )
        if problems:
            raise ArgumentError("\n".join(problems))
        self.inputs = {}
        for name, ispec in spec.inputs.items():
            value = kwargs.get(name)
            if value is None and not ispec.optional:
                raise ArgumentError(
                    f"{call} missing required argument '{name}' ({spec.describe_field(name)}). "
                    f"Pass the output of an upstream node, e.g. "
                    f"{spec.name}({name}=<node>.outputs.<output>)"
                )
            self.inputs[name] = None if value is None else self._check_channel(ispec, value)
        self.parameters = {}
        for name, pspec in spec.parameters.items():
            if name not in kwargs:
                if pspec.required:
                    raise ArgumentError(
                        f"{call} missing required argument '{name}' "
                        f"({spec.describe_field(name)}). Pass it: {spec.name}({name}=...)"
                    )
                self.parameters[name] = pspec.default
                continue
            self.parameters[name] = self._check_parameter(pspec, kwargs[name])
        self.outputs = Outputs(
            self, {name: Channel(self, name, o.type) for name, o in spec.outputs.items()}
        )
        self.upstream = []
        self.enable_cache = True

    def _check_channel(self, ispec: InputSpec, value: Any) -> Channel[Any]:
        where = f"{type(self).SPEC.name}.{ispec.name}"
        expected = ispec.type.TYPE_NAME
        if not isinstance(value, Channel):
            raise ArtifactTypeError(
                f"{where} expects a channel of {expected} (an output such as "
                f"<node>.outputs.<name>), got {type(value).__name__} {value!r}"
            )
        if not issubclass(value.artifact_type, ispec.type):
            raise ArtifactTypeError(
                f"{where} expects {expected}, got {value.artifact_type.TYPE_NAME} from "
                f"{value.producer_id}.{value.key}. Wire an output of type {expected} instead"
            )
        return value

    def _check_parameter(self, pspec: ParameterSpec, value: Any) -> Any:
        where = f"{type(self).SPEC.name}.{pspec.name} (node '{self.id}')"
        if isinstance(value, Channel):
            raise ParameterTypeError(
                f"{where} is a parameter of type {pspec.type_name}, not an input; "
                f"got the channel {value!r}. Pass a plain value"
            )
        if isinstance(value, RuntimeParameter):
            if not matches(pspec.annotation, value.type()):
                raise ParameterTypeError(
                    f"{where} expects {pspec.type_name}, got runtime parameter "
                    f"'{value.name}' of type {value.type_name}"
                )
            problem = below_minimum(pspec.minimum, value.default)
            if problem:
                raise ParameterTypeError(f"{where}: the default of runtime parameter "
                                         f"'{value.name}' {problem}")
            return value
        if not matches(pspec.annotation, value):
            nested = _contains_runtime_parameter(value)
            raise ParameterTypeError(
                f"{where} expects {pspec.type_name}, got {type(value).__name__} {value!r}"
                + (". A RuntimeParameter can only be the whole value of a parameter, not part "
                   "of a list or dict" if nested else "")
            )
        problem = below_minimum(pspec.minimum, value)
        if problem:
            raise ParameterTypeError(f"{where} {problem}")
        return value

    def with_id(self, node_id: str) -> Component:
        """Set this node's id (needed when one component is used twice); returns the node."""
        self.id = node_id
        return self

    def with_cache(self, enabled: bool) -> Component:
        """Allow (default) or forbid reusing this node's earlier outputs; returns the node. A
        pipeline with ``enable_cache=False`` reuses nothing whatever its nodes say."""
        self.enable_cache = enabled
        return self

    def after(self, *nodes: Component) -> Component:
        """Run this node only after ``nodes`` succeed, without consuming their outputs."""
        self.upstream.extend(nodes)
        return self

    def check_in_pipeline(self, pipeline: str, nodes: Mapping[str, Component], *,
                          partial: bool = False) -> None:
        """Checks needing the whole pipeline (``nodes`` by id), run when it is built; raise a
        :class:`~conveyor.errors.DefinitionError` naming ``pipeline``, node and field.
        ``partial``: ``nodes`` are only part of the pipeline (a notebook runs a node with its
        ancestors), so nodes they do not depend on may be missing."""

    def __getattr__(self, name: str) -> Any:
        # Reached only for names not set on the instance: fields read as attributes.
        spec = type(self).SPEC
        if name in spec.parameters:
            return self.__dict__["parameters"][name]
        if name in spec.inputs:
            return self.__dict__["inputs"][name]
        raise AttributeError(f"{spec.name} has no attribute '{name}'")

    def __repr__(self) -> str:
        return f"{type(self).SPEC.name}(id={self.id!r})"

