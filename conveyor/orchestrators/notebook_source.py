"""Reading the code of a notebook session: its cells, its import statements, the source of
its definitions, and the names a definition uses.

Functions defined in a notebook have their source in ``linecache`` (IPython registers every
cell), but classes do not (``inspect.getsource`` needs a module file), so their source is taken
from the cells themselves: IPython's input history ``_ih`` (not ``In``, which a notebook may
rebind, e.g. to Conveyor's ``In`` marker), or a script's file.
"""
from __future__ import annotations

import ast
import types
from typing import NamedTuple


class ImportBinding(NamedTuple):
    """What one name of an import statement binds: ``import module [as name]`` when
    ``attribute`` is None (``aliased``: with ``as``), else ``from module import attribute``."""

    module: str
    attribute: str | None
    aliased: bool = False


def session_sources(session: types.ModuleType | None) -> list[str]:
    """The notebook's cells in the order they ran (IPython's ``_ih``), or a script's text."""
    if session is None:
        return []
    history = getattr(session, "_ih", None)
    if isinstance(history, list):
        return [cell for cell in history if isinstance(cell, str)]
    path = getattr(session, "__file__", None)
    if isinstance(path, str) and path.endswith(".py"):
        try:
            with open(path, encoding="utf-8") as f:
                return [f.read()]
        except OSError:
            return []
    return []


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for stmt in body:
        found.append(stmt)
        if isinstance(stmt, (ast.If, ast.Try, ast.With)):
            found.extend(_top_level(stmt.body))
            found.extend(_top_level(getattr(stmt, "orelse", [])))
    return found


def _parsed(sources: list[str]) -> list[tuple[str, ast.Module]]:
    trees = []
    for source in sources:
        try:
            trees.append((source, ast.parse(source)))
        except SyntaxError:  # a cell with IPython-only syntax: it defines nothing we copy
            continue
    return trees


def user_imports(sources: list[str]) -> dict[str, ImportBinding]:
    """What the notebook's own module-level import statements bind, by name (latest wins)."""
    found: dict[str, ImportBinding] = {}
    for _, tree in _parsed(sources):
        for stmt in _top_level(tree.body):
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    found[bound] = ImportBinding(alias.name, None, alias.asname is not None)
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                for alias in stmt.names:
                    if alias.name != "*":
                        found[alias.asname or alias.name] = ImportBinding(stmt.module,
                                                                          alias.name)
    return found


def latest_definition(sources: list[str], name: str) -> str | None:
    """The source of the last module-level ``class``/``def`` named ``name``, decorators
    included."""
    latest = None
    for source, tree in _parsed(sources):
        for stmt in tree.body:
            if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    stmt.name == name and stmt.end_lineno is not None:
                first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                latest = "\n".join(source.splitlines()[first - 1:stmt.end_lineno])
    return latest


def position(sources: list[str], text: str) -> tuple[int, int]:
    """Where ``text`` appears last in the notebook: (cell, offset); unknown ones go last."""
    first_line = text.splitlines()[0] if text else ""
    for index in range(len(sources) - 1, -1, -1):
        offset = sources[index].find(text)
        if offset < 0:
            offset = sources[index].find(first_line) if first_line else -1
        if offset >= 0:
            return index, offset
    return len(sources), 0


def free_names(tree: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
        -> tuple[list[str], list[str]]:
    """Names a definition reads from its module: those evaluated where it is defined (in its
    decorators, annotations, defaults and bases), and those its body reads but does not bind."""
    outer: list[ast.AST] = list(tree.decorator_list)
    bound: set[str] = set()
    if isinstance(tree, ast.ClassDef):
        outer.extend([*tree.bases, *(k.value for k in tree.keywords)])
    else:
        args = tree.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs,
                 *([args.vararg] if args.vararg else []), *([args.kwarg] if args.kwarg else [])]
        outer.extend([*args.defaults, *(d for d in args.kw_defaults if d is not None),
                      *(a.annotation for a in every if a.annotation is not None),
                      *([tree.returns] if tree.returns else [])])
        bound.update(a.arg for a in every)
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
    at_definition = list(dict.fromkeys(
        n.id for part in outer for n in ast.walk(part) if isinstance(n, ast.Name)))
    in_body = list(dict.fromkeys(
        n.id for stmt in tree.body for n in ast.walk(stmt)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound))
    return at_definition, in_body
