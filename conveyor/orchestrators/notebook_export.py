"""Writing the components of a notebook session as a pipeline file for ``conveyor run``.

The file has, in order: imports, constants, the definitions copied from the notebook, runtime
parameters, one line per node (with its parameters, wiring ``x.outputs.key``, id and ``after``
dependencies) and a ``Pipeline``. What is carried over from the notebook, and how:

- **Components defined in the notebook** are copied: a function component from its live
  definition (``inspect.getsource``; IPython registers every cell with ``linecache``), a class
  from the notebook's input history (``_ih``) or, in a script, its file, taking the latest
  definition of that name. Components from modules are imported from them.
- **What the copied code uses**, name by name (its decorators, annotations, defaults, bases and
  body): modules and importable objects become imports, spelled as the notebook's own import
  statement where it has one; functions and classes defined in the notebook are copied too
  (before their users); literal constants (``ast.literal_eval`` reads their ``repr`` back) are
  written as assignments.

Limits:

- Any other value a copied definition uses (a DataFrame built in a cell, an open connection)
  cannot be written into a file: the export raises :class:`~conveyor.errors.DefinitionError`
  naming it. Pass such things as parameters, or build them inside the component.
- Side effects of cells (files written, environment variables, ``sys.path``, magics) are not
  reproduced, and lambdas and class components whose executor lives in the notebook cannot be
  exported (move them into a module).
- Modules imported from the notebook's directory must be importable where the pipeline runs
  (e.g. ``PYTHONPATH``). ``module_file`` and ``ExternalFiles`` parameters are written as absolute
  paths, resolved from the notebook's working directory.
- Cache: with the session's pipeline name and root, nodes of components imported from modules
  are reused from the session's cache. Components defined in the notebook run again once,
  because their cache key includes where their code lives (``__main__`` in the notebook, the
  pipeline file's module after export).
"""
from __future__ import annotations

import ast
import builtins
import inspect
import os
import sys
import textwrap
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import conveyor
from conveyor.dsl.channel import RuntimeParameter
from conveyor.dsl.component import Component
from conveyor.dsl.loading import USER_PACKAGE
from conveyor.dsl.pipeline import Pipeline
from conveyor.errors import DefinitionError
from conveyor.metadata.config import MetadataConfig
from conveyor.orchestrators.notebook_source import (
    free_names,
    latest_definition,
    position,
    session_sources,
    user_imports,
)

_MISSING = object()
#: Names IPython binds in every notebook's namespace; never copied into the file.
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "display"})


def export_pipeline(
    nodes: Sequence[Component],
    *,
    pipeline_name: str,
    pipeline_root: str,
    metadata: str | None = None,
    enable_cache: bool = True,
    beam_args: Sequence[str] = (),
    session_module: types.ModuleType | None = None,
    file_name: str = "<this file>",
) -> str:
    """The text of a pipeline file made of ``nodes`` (see the module docstring).

    ``session_module`` is the notebook's (or script's) ``__main__`` module: components and the
    names they use are looked up in it. A metadata URL with a password is not written into the
    file; the file says to pass it with ``--metadata`` or ``$CONVEYOR_METADATA`` instead.
    """
    if not nodes:
        raise DefinitionError("nothing to export: no component has been run in this session; "
                              "run one first (context.run(node))")
    _check_consistent(nodes)
    pipeline = Pipeline(pipeline_name, nodes, root=pipeline_root, metadata=metadata,
                        enable_cache=enable_cache, beam_args=beam_args)
    writer = _Writer(session_module)
    factories = {id(node): writer.component_reference(type(node).declared_class())
                 for node in pipeline.nodes}
    for name in ("Pipeline", *(("RuntimeParameter",) if pipeline.parameters else ())):
        writer.require_conveyor(name)
    body = [*_runtime_parameter_lines(writer, pipeline), *_node_lines(writer, pipeline, factories)]
    variables = [writer.node_names[id(n)] for n in pipeline.nodes]
    pipeline_var = writer.free_name("pipeline")
    arguments = [repr(pipeline_name), f"[{', '.join(variables)}]", f"root={pipeline_root!r}"]
    secret = metadata is not None and bool(MetadataConfig.parse(metadata).password)
    if metadata and not secret:
        arguments.append(f"metadata={metadata!r}")
    elif metadata:
        body.append(f"# metadata: {MetadataConfig.parse(metadata).describe()}; pass it with "
                    f"--metadata or $CONVEYOR_METADATA (its password is not written here)")
    if not enable_cache:
        arguments.append("enable_cache=False")
    if beam_args:
        arguments.append(f"beam_args={list(beam_args)!r}")
    body.append(_call(f"{pipeline_var} = Pipeline", arguments))
    header = "\n".join([
        f'"""Pipeline {pipeline_name!r}, exported from a notebook session on '
        f'{time.strftime("%Y-%m-%d %H:%M")}.',
        "",
        f"Run it with: conveyor run {file_name}",
        "",
        "The definitions below were copied from the notebook; edit them here from now on.",
        '"""',
        *writer.import_lines(),
    ])
    main = "\n".join([
        'if __name__ == "__main__":',
        "    from conveyor import LocalRunner",
        "",
        f"    print(LocalRunner().run({pipeline_var}).summary())",
    ])
    sections = [header, "\n".join(writer.constant_lines()), *writer.ordered_definitions(),
                "\n".join(body), main]
    text = "\n\n\n".join(section for section in sections if section) + "\n"
    try:
        compile(text, "<exported pipeline>", "exec")
    except SyntaxError as err:
        raise DefinitionError(f"the exported pipeline is not valid Python ({err.msg}, line "
                              f"{err.lineno}: {err.text!r}); the copied code may use IPython "
                              f"syntax such as magics") from err
    return text


def _check_consistent(nodes: Sequence[Component]) -> None:
    latest = {node.id: node for node in nodes}
    for node in nodes:
        for dep in Pipeline.dependencies(node):
            if latest.get(dep.id) is not dep:
                raise DefinitionError(
                    f"cannot export: node '{node.id}' was last run on a '{dep.id}' node that is "
                    f"not the '{dep.id}' run last in this session (was a cell run again?); run "
                    f"'{node.id}' again (context.run({node.id})), then export")


def _call(head: str, arguments: list[str]) -> str:
    one_line = f"{head}({', '.join(arguments)})"
    if len(one_line) <= 99:
        return one_line
    return head + "(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _literal(value: Any, where: str) -> str:
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        same = False
    if not same:
        raise DefinitionError(f"cannot export {where}: its value {value!r} cannot be written as "
                              f"a Python literal")
    return text


def _runtime_parameter_lines(writer: _Writer, pipeline: Pipeline) -> list[str]:
    lines = []
    for param in pipeline.parameters.values():
        name = writer.free_name(writer.session_name_of(param) or param.name)
        writer.parameter_names[param.name] = name
        arguments = [repr(param.name), param.type.__name__,
                     f"default={_literal(param.default, f'runtime parameter {param.name!r}')}"]
        if param.description:
            arguments.append(f"description={param.description!r}")
        lines.append(_call(f"{name} = RuntimeParameter", arguments))
    return [*lines, ""] if lines else []


def _node_lines(writer: _Writer, pipeline: Pipeline, factories: dict[int, str]) -> list[str]:
    lines = []
    for node in pipeline.nodes:
        spec = type(node).SPEC
        name = writer.free_name(writer.session_name_of(node) or node.id.replace("-", "_"),
                                fallback=f"{node.id.replace('-', '_')}_node")
        writer.node_names[id(node)] = name
        arguments = []
        for key, channel in node.inputs.items():
            if channel is not None:
                producer = writer.node_names[id(channel.producer)]
                arguments.append(f"{key}={producer}.outputs.{channel.key}")
        for key, value in node.parameters.items():
            pspec = spec.parameters[key]
            if isinstance(value, RuntimeParameter):
                arguments.append(f"{key}={writer.parameter_names[value.name]}")
                continue
            if type(value) is type(pspec.default) and value == pspec.default:
                continue
            if (pspec.module_file or pspec.external_files) and isinstance(value, str) \
                    and "://" not in value:
                value = os.path.abspath(value)
            arguments.append(f"{key}={_literal(value, f'node {node.id!r} parameter {key!r}')}")
        if node.id != type(node).default_id():
            arguments.append(f"id={node.id!r}")
        lines.append(_call(f"{name} = {factories[id(node)]}", arguments))
        if node.upstream:
            after = ", ".join(writer.node_names[id(n)] for n in node.upstream)
            lines.append(f"{name}.after({after})")
    return lines


class _Writer:
    """Collects what the file needs: imports, constants and copied definitions."""

    def __init__(self, session: types.ModuleType | None) -> None:
        self.session = session
        self.namespace: dict[str, Any] = vars(session) if session is not None else {}
        self.session_module_name = self.namespace.get("__name__", "__main__")
        self.sources = session_sources(session)
        self.user_imports = user_imports(self.sources)
        self.plain_imports: dict[str, tuple[str, str]] = {}  # name -> (module, statement)
        self.from_imports: dict[str, dict[str, str]] = {}  # module -> {bound name: "a as b"}
        self.constants: dict[str, str] = {}                # name -> "name = literal"
        self.definitions: list[_Definition] = []
        self.defined: dict[str, Any] = {}                  # top-level name -> object bound
        self.visiting: set[int] = set()
        self.node_names: dict[int, str] = {}
        self.parameter_names: dict[str, str] = {}

    # ---- names -------------------------------------------------------------------------------

    def free_name(self, preferred: str, fallback: str | None = None) -> str:
        """``preferred`` (or ``fallback``, or a numbered variant) if not yet bound in the file."""
        for candidate in (preferred, fallback or f"{preferred}_2"):
            if candidate.isidentifier() and candidate not in self.defined \
                    and candidate not in _RESERVED_FILE_NAMES:
                self.defined[candidate] = None
                return candidate
        n = 3
        while f"{preferred}_{n}" in self.defined:
            n += 1
        self.defined[f"{preferred}_{n}"] = None
        return f"{preferred}_{n}"

    def session_name_of(self, value: Any) -> str | None:
        """A public name the notebook binds to ``value`` (e.g. the variable holding a node)."""
        for name, bound in self.namespace.items():
            if bound is value and name.isidentifier() and not name.startswith("_") \
                    and name not in self.defined:
                return name
        return None

    # ---- components ----------------------------------------------------------------------------

    def component_reference(self, cls: type[Component]) -> str:
        """The name by which the file refers to component class ``cls`` (importing or copying
        whatever it needs)."""
        module = cls.__module__
        if module == self.session_module_name:
            self._copy(cls)
            return cls.__name__
        if module == "__main__" or module.startswith(f"{USER_PACKAGE}."):
            raise DefinitionError(
                f"cannot export component {cls.SPEC.name}: it comes from '{module}', which "
                f"cannot be imported by name; move it into an importable module")
        name = self.session_name_of(cls) or cls.__name__
        self._bind(name, cls, f"component {cls.SPEC.name}")
        return name

    def require_conveyor(self, name: str) -> None:
        """Import ``name`` from ``conveyor`` (the generated code uses it)."""
        self._bind(name, getattr(conveyor, name), "the exported pipeline")

    # ---- resolving one name --------------------------------------------------------------------

    def _bind(self, name: str, value: Any, user: str) -> None:
        if name in self.defined:
            if self.defined[name] is value:
                return
            raise DefinitionError(f"cannot export: the name '{name}' stands for two things "
                                  f"({self.defined[name]!r} and {value!r}); rename one")
        if self._is_session_definition(value):
            self._copy(value)
            if name != value.__name__:  # the notebook refers to it by another name too
                self.defined[name] = value
                self.definitions.append(_Definition(name, f"{name} = {value.__name__}",
                                                    frozenset({value.__name__})))
            return
        if self._import_from_notebook(name, value) or (
                isinstance(value, types.ModuleType) and self._import_module(name, value)):
            self.defined[name] = value
            return
        # A literal is written out before looking for it in modules: small ints and short
        # strings are shared objects, and some module is bound to hold an equal one.
        if _is_literal(value):
            self.constants[name] = f"{name} = {value!r}"
            self.defined[name] = value
            return
        if self._import_found(name, value):
            self.defined[name] = value
            return
        raise DefinitionError(
            f"cannot export {user}: it uses '{name}', a {type(value).__name__} from the "
            f"notebook that cannot be written into a file; pass it as a parameter or create "
            f"it inside the component")

    def _is_ipython_own(self, name: str, value: Any) -> bool:
        # IPython binds its history (In, Out) and helpers in the notebook's namespace; a user
        # import (e.g. conveyor's In and Out markers) replaces them.
        return name in _IPYTHON_NAMES and (
            any(value is self.namespace.get(h) for h in ("_ih", "_oh"))
            or str(type(value).__module__).startswith("IPython")
            or str(getattr(value, "__module__", "")).startswith("IPython"))

    def _is_session_definition(self, value: Any) -> bool:
        return isinstance(value, (types.FunctionType, type)) and \
            getattr(value, "__module__", None) == self.session_module_name

    def _import_from_notebook(self, name: str, value: Any) -> bool:
        found = self.user_imports.get(name)
        loaded = sys.modules.get(found.module) if found is not None else None
        if found is None or loaded is None:
            return False  # no such statement, or it never ran: not what bound the name
        if found.attribute is None:
            top = loaded if found.aliased else sys.modules.get(found.module.split(".")[0])
            if top is not value:
                return False
            self.plain_imports[name] = (found.module, f"import {found.module} as {name}"
                                        if found.aliased else f"import {found.module}")
            return True
        if getattr(loaded, found.attribute, _MISSING) is not value:
            return False
        self._add_from(found.module, found.attribute, name)
        return True

    def _import_module(self, name: str, module: types.ModuleType) -> bool:
        full = module.__name__
        if full == "__main__" or full.startswith(f"{USER_PACKAGE}."):
            return False
        parent, _, last = full.rpartition(".")
        if full == name:
            self.plain_imports[name] = (full, f"import {full}")
        elif parent and last == name:
            self._add_from(parent, last, name)
        else:
            self.plain_imports[name] = (full, f"import {full} as {name}")
        return True

    def _import_found(self, name: str, value: Any) -> bool:
        own = getattr(value, "__name__", None)
        for module_name in _candidate_modules(value):
            try:
                found = vars(sys.modules[module_name])
            except (KeyError, TypeError):  # gone meanwhile, or not a real module
                continue
            for attribute in (name, own):
                if isinstance(attribute, str) and found.get(attribute, _MISSING) is value:
                    self._add_from(module_name, attribute, name)
                    return True
        return False

    def _add_from(self, module: str, attribute: str, name: str) -> None:
        self.from_imports.setdefault(module, {})[name] = \
            attribute if attribute == name else f"{attribute} as {name}"

    # ---- copying definitions -------------------------------------------------------------------

    def _copy(self, value: Any) -> None:
        name = value.__name__
        if self.defined.get(name, value) is not value:
            raise DefinitionError(f"cannot export: the name '{name}' stands for two things "
                                  f"({self.defined[name]!r} and {value!r}); rename one")
        if id(value) in self.visiting:
            return
        self.visiting.add(id(value))
        self.defined[name] = value
        function = getattr(value, "EXECUTOR_FUNCTION", None) if isinstance(value, type) else None
        if isinstance(value, type) and issubclass(value, Component) and function is None:
            raise DefinitionError(
                f"cannot export component {value.SPEC.name}: class components defined in the "
                f"notebook cannot be exported (their executor '{value.executor}' names the "
                f"notebook); move the class and its executor into a module")
        source = self._source_of(function or value, name)
        tree = ast.parse(source).body[0]
        assert isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        where = f"{'component' if function else 'definition'} '{name}'"
        outer, inner = free_names(tree)
        for used in [*outer, *inner]:
            if used in self.defined:
                continue
            bound = self.namespace.get(used, _MISSING)
            if bound is _MISSING or getattr(builtins, used, _MISSING) is bound \
                    or self._is_ipython_own(used, bound):
                continue  # a builtin, or a name the notebook never bound either
            self._bind(used, bound, where)
        if function is not None and not tree.decorator_list:
            self.require_conveyor("component")
            source += f"\n{name} = component({name})"
        self.definitions.append(_Definition(name, source, frozenset(outer)))

    def _source_of(self, value: Any, name: str) -> str:
        if getattr(value, "__name__", None) == "<lambda>":
            raise DefinitionError(f"cannot export '{name}': it is a lambda; define it with def")
        try:
            source = inspect.getsource(value)
        except (OSError, TypeError):
            source = latest_definition(self.sources, value.__name__) or ""
        source = textwrap.dedent(source).rstrip()
        if not source:
            raise DefinitionError(
                f"cannot export '{name}': its source code was not found (defined with exec, or "
                f"in a cell no longer in the history?); move it into a module and import it")
        return source

    # ---- output --------------------------------------------------------------------------------

    def import_lines(self) -> list[str]:
        """Standard-library imports, a blank line, then the others; in each group ``import``
        statements, then ``from`` imports grouped by module, sorted."""
        groups: list[list[str]] = [[], []]
        for module, statement in sorted(set(self.plain_imports.values()),
                                        key=lambda p: p[1]):
            groups[_group(module)].append(statement)
        for module in sorted(self.from_imports):
            names = sorted(self.from_imports[module].values())
            groups[_group(module)].append(_from_line(module, names))
        return [*groups[0], *([""] if all(groups) else []), *groups[1]]

    def ordered_definitions(self) -> list[str]:
        """The copied definitions in the notebook's order, when that order defines everything
        a definition needs (annotations, decorators, bases) before it; else dependencies
        first."""
        copied = {d.name for d in self.definitions}
        by_position = sorted(self.definitions, key=lambda d: position(self.sources, d.source))
        placed: set[str] = set()
        for definition in by_position:
            if any(n in copied and n not in placed for n in definition.needs):
                return [d.source for d in self.definitions]
            placed.add(definition.name)
        return [d.source for d in by_position]

    def constant_lines(self) -> list[str]:
        """Assignments of the literal constants the copied code uses."""
        return list(self.constants.values())


@dataclass(frozen=True)
class _Definition:
    """Code copied from the notebook: what it defines, and the names it needs when defined."""

    name: str
    source: str
    needs: frozenset[str]


_RESERVED_FILE_NAMES = frozenset({"LocalRunner", "conveyor"})


def _group(module: str) -> int:
    return 0 if module.split(".")[0] in sys.stdlib_module_names else 1


def _from_line(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 99:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"


def _is_literal(value: Any) -> bool:
    if not isinstance(value, (int, float, complex, str, bytes, bool, type(None), tuple, list,
                              dict, set, frozenset)):
        return False
    try:
        return bool(ast.literal_eval(repr(value)) == value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _candidate_modules(value: Any) -> list[str]:
    """Modules that may export ``value``: its own module's packages, shortest (most public)
    first, then every other public module already imported."""
    own = getattr(value, "__module__", None)
    first: list[str] = []
    if isinstance(own, str):
        parts = own.split(".")
        first = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    others = sorted((m for m in list(sys.modules) if m not in first),
                    key=lambda m: (m.count("."), len(m), m))
    return [m for m in [*first, *others]
            if m in sys.modules and m != "__main__" and not m.startswith(f"{USER_PACKAGE}.")
            and not any(part.startswith("_") for part in m.split("."))]
