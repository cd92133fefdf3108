"""Loading a pipeline from a Python file, as ``conveyor run pipeline.py`` does."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
import types

from conveyor.dsl.pipeline import Pipeline
from conveyor.errors import PipelineLoadError

#: Package under which user files are imported, so their modules never shadow real ones.
USER_PACKAGE = "conveyor_user"


def module_name_for(path: str) -> str:
    """The module name a user file is imported under: stable for one absolute path."""
    path = os.path.abspath(path)
    stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(path))[0])
    digest = hashlib.sha256(path.encode()).hexdigest()[:10]
    return f"{USER_PACKAGE}.{stem}_{digest}"


def import_file(path: str) -> types.ModuleType:
    """Import a Python file by path (once per process) under :func:`module_name_for`."""
    path = os.path.abspath(path)
    name = module_name_for(path)
    if name in sys.modules:
        return sys.modules[name]
    if not os.path.isfile(path):
        raise PipelineLoadError(f"{path}: no such file")
    if USER_PACKAGE not in sys.modules:
        package = types.ModuleType(USER_PACKAGE)
        package.__path__ = []
        sys.modules[USER_PACKAGE] = package
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PipelineLoadError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise PipelineLoadError(f"{path}{_line_in(err, path)}: {type(err).__name__}: {err}") \
            from err
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _line_in(err: BaseException, path: str) -> str:
    """``", line N"`` of the deepest frame of ``err``'s traceback that is in ``path``."""
    lines = [frame.lineno for frame in traceback.extract_tb(err.__traceback__)
             if frame.filename == path]
    if isinstance(err, SyntaxError) and err.filename == path:
        lines.append(err.lineno)
    return f", line {lines[-1]}" if lines and lines[-1] is not None else ""


def load_pipeline(path: str, name: str | None = None) -> Pipeline:
    """The pipeline defined in the file at ``path``.

    The file must define exactly one :class:`Pipeline` at module level, or a function
    ``create_pipeline()`` returning one; ``name`` picks one of several by pipeline name.
    """
    module = import_file(path)
    found = [v for v in vars(module).values() if isinstance(v, Pipeline)]
    factory = getattr(module, "create_pipeline", None)
    if not found and callable(factory):
        made = factory()
        if not isinstance(made, Pipeline):
            raise PipelineLoadError(
                f"{path}: create_pipeline() returned {type(made).__name__}, not a Pipeline"
            )
        found = [made]
    if name is not None:
        found = [p for p in found if p.name == name]
    unique = list({id(p): p for p in found}.values())
    if len(unique) == 1:
        return unique[0]
    if not unique:
        raise PipelineLoadError(
            f"{path}: defines no Pipeline{f' named {name!r}' if name else ''}. Assign one at "
            f"module level (pipeline = Pipeline(...)) or define create_pipeline()"
        )
    raise PipelineLoadError(
        f"{path}: defines {len(unique)} pipelines ({', '.join(p.name for p in unique)}); "
        f"choose one with --pipeline NAME"
    )
