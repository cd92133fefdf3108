"""Finding and calling the user's function (``run_fn``, ``tuner_fn``) of a Trainer or Tuner.

The function is named either by a module file and a function name, or by an import path
``"package.module:function"``. Every error names the file (or module) and the function and
says how to fix it; an exception raised by the function keeps its type name, message and the
line of the module file it came from, with the original chained as ``__cause__``.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.dsl.loading import import_file, module_name_for
from conveyor.dsl.source import file_sha256
from conveyor.errors import (
    ConveyorError,
    DataError,
    ExecutionError,
    ModuleFileError,
    PipelineLoadError,
    did_you_mean,
)


@dataclass(frozen=True)
class UserFunction:
    """A loaded user function and where it came from (for messages)."""

    function: Callable[..., Any]
    name: str
    #: The module file, or None for an import path.
    path: str | None
    module: str

    @property
    def where(self) -> str:
        """``"run_fn 'run_fn' of module file /x/model.py"`` or ``"run_fn 'pkg.mod:fn'"``."""
        if self.path is not None:
            return f"'{self.name}' of module file {self.path}"
        return f"'{self.module}:{self.name}'"

    def call(self, *args: Any, role: str = "run_fn") -> Any:
        """Call the function; its exceptions become :class:`ExecutionError` (or
        :class:`DataError` for data errors) naming the function, file and line."""
        try:
            return self.function(*args)
        except DataError as err:
            raise DataError(f"{role} {self.where}{self._line(err)}: {err}") from err
        except ConveyorError:
            raise
        except Exception as err:
            raise ExecutionError(f"{role} {self.where} raised {type(err).__name__}"
                                 f"{self._line(err)}: {err}") from err

    def _line(self, err: BaseException) -> str:
        frames = traceback.extract_tb(err.__traceback__)
        if self.path is not None:
            lines = [f.lineno for f in frames
                     if os.path.abspath(f.filename) == os.path.abspath(self.path)]
            return f" at line {lines[-1]}" if lines and lines[-1] is not None else ""
        if frames:
            last = frames[-1]
            return f" at {last.filename}, line {last.lineno}"
        return ""


def load_user_function(module_file: str | None, name: str, *,
                       role: str = "run_fn") -> UserFunction:
    """The function ``name`` of ``module_file``, or the import path ``name`` when
    ``module_file`` is None. ``role`` names the function in messages (``run_fn``)."""
    if module_file is None:
        module_name, _, attribute = name.partition(":")
        if not attribute:
            raise ModuleFileError(f"{role} {name!r} names no module: pass module_file= or an "
                                  f"import path 'package.module:function'")
        try:
            module: Any = importlib.import_module(module_name)
        except ImportError as err:
            raise ModuleFileError(f"{role} '{name}': cannot import module '{module_name}': "
                                  f"{err}. Is it installed, or on PYTHONPATH?") from err
        return _attribute(module, attribute, None, module_name, role)
    path = os.path.abspath(module_file)
    if not os.path.isfile(path):
        raise ModuleFileError(f"{role} module file {path} does not exist; pass the path of a "
                              f"Python file defining {name}(args)")
    _forget_if_changed(path)
    try:
        module = import_file(path)
    except PipelineLoadError as err:
        raise ModuleFileError(f"{role} module file {err}; fix the module so it imports") \
            from err
    return _attribute(module, name, path, module.__name__, role)


#: Content digest of each module file as it was imported in this process.
_imported: dict[str, str] = {}


def _forget_if_changed(path: str) -> None:
    """Drop the imported module of ``path`` if the file changed since (a notebook session
    editing its module file between runs must not train with the old code)."""
    digest = file_sha256(path)
    if _imported.get(path, digest) != digest:
        sys.modules.pop(module_name_for(path), None)
    _imported[path] = digest


def _attribute(module: Any, name: str, path: str | None, module_name: str,
               role: str) -> UserFunction:
    where = f"module file {path}" if path is not None else f"module '{module_name}'"
    function = getattr(module, name, None)
    if function is None:
        functions = [n for n, v in vars(module).items()
                     if callable(v) and not n.startswith("_") and not isinstance(v, type)]
        raise ModuleFileError(
            f"{where} has no function '{name}'.{did_you_mean(name, functions)} Define "
            f"{name}(args) there, or name another function with {role}=...")
    if not callable(function):
        raise ModuleFileError(f"{where}: '{name}' is a {type(function).__name__}, not a "
                              f"function")
    return UserFunction(function, name, path, module_name)
