"""``@component``: turn a typed Python function into a component.

::

    @component
    def count_rows(examples: In[Examples], stats: Out[ExampleStatistics], limit: int = 10) -> None:
        ...

    counter = count_rows(examples=gen.outputs.examples, limit=5)

``In[...]`` parameters are input channels (``= None`` makes one optional), ``Out[...]`` parameters
are outputs, an ``ExecutionContext`` parameter receives the execution context, and every other
parameter is a plain typed parameter. At run time the function is called with artifacts for
inputs and outputs (write into ``out.uri``; set properties on it) and values for parameters.
"""
from __future__ import annotations

import inspect
import os
import types
import typing
from collections.abc import Callable
from typing import Any, overload

from conveyor.artifacts import Artifact
from conveyor.dsl.component import Component, check_default
from conveyor.dsl.context import ExecutionContext
from conveyor.dsl.fields import FILES_MARKER, IN_MARKER, MISSING, OUT_MARKER
from conveyor.dsl.spec import (
    RESERVED_NAMES,
    ComponentSpec,
    InputSpec,
    OutputSpec,
    ParameterSpec,
    SourceInfo,
)
from conveyor.dsl.typecheck import describe, is_supported
from conveyor.errors import DefinitionError


@overload
def component(func: Callable[..., None]) -> type[Component]: ...


@overload
def component(
    func: None = None, *, description: str = ""
) -> Callable[[Callable[..., None]], type[Component]]: ...


def component(
    func: Callable[..., None] | None = None, *, description: str = ""
) -> type[Component] | Callable[[Callable[..., None]], type[Component]]:
    """Make a component class from a typed function (see module docstring)."""

    def wrap(f: Callable[..., None]) -> type[Component]:
        spec = _spec_from_function(f, description)
        namespace = {
            "__module__": f.__module__,
            "__qualname__": f.__qualname__,
            "__doc__": f.__doc__,
            "executor": spec.executor,
            "EXECUTOR_FUNCTION": staticmethod(f),
            "default_id": classmethod(lambda cls: f.__name__),
        }
        return types.new_class(
            f.__name__, (Component,), {"spec": spec}, lambda ns: ns.update(namespace)
        )

    return wrap(func) if func is not None else wrap


def _spec_from_function(func: Callable[..., None], description: str) -> ComponentSpec:
    where = f"@component {func.__qualname__}"
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except NameError as err:
        raise DefinitionError(f"{where}: cannot resolve an annotation ({err})") from err
    inputs: dict[str, InputSpec] = {}
    outputs: dict[str, OutputSpec] = {}
    parameters: dict[str, ParameterSpec] = {}
    for name, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise DefinitionError(f"{where}: *args/**kwargs are not allowed; name each argument")
        annotation = hints.get(name)
        if annotation is ExecutionContext:
            continue
        if name in RESERVED_NAMES:
            raise DefinitionError(f"{where}: argument name '{name}' is reserved; rename it")
        if annotation is None:
            raise DefinitionError(
                f"{where}: argument '{name}' needs a type annotation "
                f"(In[<Artifact>], Out[<Artifact>] or a JSON-like type such as int)"
            )
        default = MISSING if param.default is param.empty else param.default
        marker, base = _split_annotated(annotation)
        if marker in (IN_MARKER, OUT_MARKER):
            if not (isinstance(base, type) and issubclass(base, Artifact)):
                raise DefinitionError(f"{where}: {marker!r}[...] of '{name}' must wrap an "
                                      f"Artifact type, got {describe(base)}")
            if marker is IN_MARKER:
                if default not in (MISSING, None):
                    raise DefinitionError(f"{where}: input '{name}' may only default to None")
                inputs[name] = InputSpec(name, base, optional=default is None)
            else:
                if default is not MISSING:
                    raise DefinitionError(f"{where}: output '{name}' cannot have a default; "
                                          f"remove '= ...' from it")
                outputs[name] = OutputSpec(name, base)
            continue
        if not is_supported(base):
            raise DefinitionError(
                f"{where}: argument '{name}' has type {describe(base)}; parameters must be "
                f"JSON-like (int, float, str, bool, list, dict[str, ...]) or In[...]/Out[...]"
            )
        check_default(f"{where}: argument '{name}'", base, default)
        parameters[name] = ParameterSpec(
            name, base, default, external_files=marker is FILES_MARKER
        )
    path = inspect.getsourcefile(func)
    return ComponentSpec(
        name=func.__name__,
        type_name=f"{func.__module__}.{func.__qualname__}",
        executor=f"{func.__module__}:{func.__qualname__}",
        inputs=inputs,
        outputs=outputs,
        parameters=parameters,
        source=SourceInfo(
            module=func.__module__,
            path=os.path.abspath(path) if path else None,
            function=func,
        ),
        description=description or (func.__doc__ or "").strip().split("\n")[0],
    )


def _split_annotated(annotation: Any) -> tuple[object | None, Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        for marker in (IN_MARKER, OUT_MARKER, FILES_MARKER):
            if any(e is marker for e in extras):
                return marker, base
        return None, base
    return None, annotation
