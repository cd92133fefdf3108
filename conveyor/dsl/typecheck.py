"""Checking parameter values against their annotations, and naming annotations readably.

Parameters are JSON-like: ``int``, ``float``, ``str``, ``bool``, ``list[...]``, ``dict[str, ...]``,
``Literal[...]``, ``X | None`` and ``Any``. A value is checked when the component is built, so a
wrong type is reported at the line that built it, not when the node runs.
"""
from __future__ import annotations

import types
import typing
from typing import Any

from conveyor.dsl.channel import RuntimeParameter

_SCALARS = (int, float, str, bool)


def describe(annotation: Any) -> str:
    """``list[int] | None`` style name of an annotation."""
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(describe(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in typing.get_args(annotation)) + "]"
    if origin is not None:
        args = ", ".join(describe(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def is_supported(annotation: Any) -> bool:
    """Whether ``annotation`` describes a JSON-like value Conveyor can record in the IR."""
    if annotation in _SCALARS or annotation is Any or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(is_supported(a) for a in args)
    if origin is typing.Literal:
        return all(isinstance(a, _SCALARS) for a in args)
    if origin is list:
        return len(args) <= 1 and all(is_supported(a) for a in args)
    if origin is dict:
        return len(args) in (0, 2) and (not args or (args[0] is str and is_supported(args[1])))
    return annotation in (list, dict)


def matches(annotation: Any, value: Any) -> bool:
    """Whether ``value`` is an instance of ``annotation`` (ints are accepted as floats)."""
    if annotation is Any:
        return True
    if isinstance(value, RuntimeParameter):
        # Only a whole parameter value may be a runtime parameter (the component checks that
        # case itself); one nested in a list or dict cannot be recorded in the IR.
        return False
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (str, bool):
        return isinstance(value, annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(matches(a, value) for a in args)
    if origin is typing.Literal:
        # By value *and* kind: True must not pass for Literal[1], nor 1.0 for Literal[1].
        return any(value == a and matches(type(a), value) for a in args)
    if annotation is list or origin is list:
        return isinstance(value, (list, tuple)) and all(
            matches(args[0], v) for v in value
        ) if args else isinstance(value, (list, tuple))
    if annotation is dict or origin is dict:
        if not isinstance(value, dict):
            return False
        return not args or all(
            isinstance(k, str) and matches(args[1], v) for k, v in value.items()
        )
    return isinstance(value, annotation) if isinstance(annotation, type) else False


def to_json_value(value: Any) -> Any:
    """The value as the IR stores it (tuples become lists)."""
    if isinstance(value, tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value
