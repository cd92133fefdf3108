"""Fingerprints of user code, so that changed code is never served from cache.

A function component's fingerprint covers its own source and, followed by name, the source of
functions and classes of the same module it uses and the values of simple module-level constants
it reads. Other statements of the module (typically the pipeline's own construction) are left
out, so that editing one node's parameters in a pipeline file does not invalidate every node
defined there.
"""
from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable
from typing import Any

_CONSTANT_TYPES = (int, float, str, bytes, bool, type(None), tuple, frozenset, list, dict)


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def function_fingerprint(func: Callable[..., Any]) -> str:
    """SHA-256 over the code ``func`` depends on within its own module (see module docstring)."""
    module = inspect.getmodule(func)
    namespace = vars(module) if module is not None else {}
    parts: list[str] = []
    _collect(func, namespace, parts, set())
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()


def _collect(obj: Any, namespace: dict[str, Any], parts: list[str], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    obj = getattr(obj, "EXECUTOR_FUNCTION", obj)  # a @component: follow the wrapped function
    try:
        parts.append(inspect.getsource(obj))
    except (OSError, TypeError):
        parts.append(repr(obj))
    for name in sorted(_referenced_names(obj)):
        if name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, (types.FunctionType, type)) and \
                getattr(value, "__module__", None) == namespace.get("__name__"):
            _collect(value, namespace, parts, seen)
        elif isinstance(value, _CONSTANT_TYPES):
            parts.append(f"{name} = {value!r}")


def _referenced_names(obj: Any) -> set[str]:
    codes: list[types.CodeType] = []
    if isinstance(obj, types.FunctionType):
        codes.append(obj.__code__)
    elif isinstance(obj, type):
        codes.extend(v.__code__ for v in vars(obj).values() if isinstance(v, types.FunctionType))
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return names
