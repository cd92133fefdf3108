"""Finding a node's executor function and artifact classes from their references in the IR."""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from conveyor.artifacts import Artifact, registered_types
from conveyor.dsl.loading import USER_PACKAGE, import_file
from conveyor.dsl.source import file_sha256, function_fingerprint
from conveyor.errors import ModuleFileError
from conveyor.ir.model import ArtifactTypeIR, NodeIR, SourceRef


def _module_for(module_name: str, qualname: str, source: SourceRef | None,
                where: str) -> Any:
    main = sys.modules.get("__main__")
    if module_name == "__main__" and main is not None and _has_path(main, qualname):
        # Defined in the running script or notebook (an in-process run, e.g. a notebook's
        # InteractiveContext): cells may have no file on disk, but the live module holds it.
        return main
    if module_name != "__main__" and not module_name.startswith(f"{USER_PACKAGE}."):
        try:
            return importlib.import_module(module_name)
        except ImportError as err:
            # Not importable here (e.g. a script directory not on sys.path): fall back to the
            # file the function was compiled from, if the IR records one.
            if source is None or not source.path:
                raise ModuleFileError(f"{where}: cannot import module '{module_name}': {err}") \
                    from err
    if source is None or not source.path:
        raise ModuleFileError(f"{where}: defined in a file that cannot be imported by name, "
                              f"and the IR records no path for it")
    if not os.path.isfile(source.path):
        raise ModuleFileError(f"{where}: its file {source.path} does not exist here; run from "
                              f"where the pipeline was compiled, or move the function into an "
                              f"importable module")
    return import_file(source.path)


def _resolve(ref: str, node: NodeIR) -> Any:
    module_name, _, qualname = ref.partition(":")
    where = f"node '{node.id}' executor '{ref}'"
    if not qualname:
        raise ModuleFileError(f"{where}: expected 'module:function'")
    target: Any = _module_for(module_name, qualname, node.source, where)
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ModuleFileError(f"{where}: module '{module_name}' has no '{qualname}'") from None
    return target


def _has_path(module: Any, qualname: str) -> bool:
    target = module
    for part in qualname.split("."):
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


def load_executor(node: NodeIR) -> Callable[..., Any]:
    """The executor function of ``node``; for a function component, checks that its code is the
    code that was compiled (the cache key and lineage describe that code)."""
    target = _resolve(node.executor, node)
    function = getattr(target, "EXECUTOR_FUNCTION", target)
    if not callable(function):
        raise ModuleFileError(f"node '{node.id}': executor '{node.executor}' is not callable")
    if node.source is not None and function_fingerprint(function) != node.source.fingerprint:
        raise ModuleFileError(
            f"node '{node.id}': the code of '{node.executor}' changed since the pipeline was "
            f"compiled ({node.source.path}); recompile the pipeline (conveyor run recompiles)"
        )
    return function  # type: ignore[no-any-return]


def check_module_files(node: NodeIR) -> None:
    """Fail unless every user module file of ``node`` exists with its compiled content."""
    for key, ref in node.module_files.items():
        where = f"node '{node.id}' field '{key}'"
        if not os.path.isfile(ref.path):
            raise ModuleFileError(f"{where}: module file {ref.path} does not exist")
        if file_sha256(ref.path) != ref.sha256:
            raise ModuleFileError(f"{where}: module file {ref.path} changed since the pipeline "
                                  f"was compiled; recompile the pipeline")


_KINDS = {"int": int, "float": float, "str": str, "list": list}


def load_artifact_class(type_ir: ArtifactTypeIR) -> type[Artifact]:
    """The class of an artifact type. When its module cannot be imported here (a type defined
    in a pipeline file), an equivalent class is made from the properties recorded in the IR."""
    module_name, _, qualname = type_ir.class_ref.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        target = None
    if isinstance(target, type) and issubclass(target, Artifact):
        return target
    known = registered_types().get(type_ir.name)
    if known is not None:
        return known
    return type(type_ir.name, (Artifact,), {
        "TYPE_NAME": type_ir.name,
        "PROPERTIES": {k: _KINDS[v] for k, v in type_ir.properties.items() if v in _KINDS},
        "BASE_TYPE": type_ir.base_type,
    })
