"""Compile a pipeline into an Airflow DAG file: data rendered into a logic-free template.

The file (``conveyor/templates/airflow_dag.py.tmpl``) holds the compiled pipeline as a JSON string
literal and one call, ``build_dag(PIPELINE_IR, **options)``; everything else happens in
:mod:`conveyor.orchestrators.airflow.dag` when Airflow parses it. Compiling imports neither
Airflow nor any ML library, and the same pipeline and options always give the same bytes.
"""
from __future__ import annotations

import ast
import os
import string
import tempfile
from dataclasses import replace
from importlib import resources
from typing import Any

from conveyor.dsl.pipeline import Pipeline
from conveyor.errors import DefinitionError
from conveyor.ir.model import PipelineIR
from conveyor.ir.parameters import parameter_values
from conveyor.orchestrators.airflow.options import DagOptions, check_expressible
from conveyor.version import __version__

TEMPLATE = "airflow_dag.py.tmpl"


def compile_airflow(pipeline: Pipeline | PipelineIR, output_path: str, *,
                    root: str | None = None, **options: Any) -> str:
    """Write the Airflow DAG file of ``pipeline`` to ``output_path``; return its absolute path.

    ``root`` overrides the pipeline root (when ``pipeline`` is not compiled yet); ``options``
    are those of :class:`~conveyor.orchestrators.airflow.options.DagOptions` (``schedule``,
    ``start_date``, ``retries``, ``operator``, ...). Raises DefinitionError, naming the node and
    the feature, for a pipeline Airflow cannot run.
    """
    if isinstance(pipeline, PipelineIR):
        ir = pipeline
    else:
        from conveyor.ir.compiler import compile_pipeline

        ir = compile_pipeline(pipeline, root=root)
    text = render_dag_file(ir, DagOptions.from_kwargs(options))
    path = os.path.abspath(output_path)
    _write_atomically(path, text)
    return path


def render_dag_file(ir: PipelineIR, options: DagOptions) -> str:
    """The text of the DAG file of ``ir`` built with ``options``."""
    check_expressible(ir, options)
    # Parameter overrides are written with their types (a command line gives strings).
    typed = parameter_values(ir, options.params, DefinitionError)
    options = replace(options, dag_id=options.dag_id or ir.name,
                      params={name: typed[name] for name in options.params})
    template = string.Template(
        resources.files("conveyor.templates").joinpath(TEMPLATE).read_text(encoding="utf-8"))
    return template.substitute(
        dag_id=options.dag_id or ir.name,
        pipeline=ir.name,
        node_count=len(ir.nodes),
        version=__version__,
        parameters=", ".join(ir.parameters) or "(none)",
        ir_literal=_string_literal(ir.to_json()),
        options="".join(f"    {name}={value!r},\n"
                        for name, value in options.to_kwargs().items()).rstrip("\n"),
    )


def _string_literal(text: str) -> str:
    # A raw triple-quoted string keeps the indented JSON readable in the file; repr() is the
    # fallback for the rare text that such a literal cannot hold (''' or a trailing quote).
    readable = f"r'''{text}'''"
    try:
        if ast.literal_eval(readable) == text:
            return readable
    except SyntaxError:
        pass
    return repr(text)


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    # Airflow parses every file in its DAG folder: a half-written one would be an import error.
    # The temporary name has no ".py", so Airflow never picks it up.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".conveyor-dag-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
