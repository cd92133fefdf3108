"""The command each Airflow task runs: the single-node entrypoint, for one node of one DAG run.

Every task runs, through ``sh``::

    exec PYTHON -m conveyor.runtime.entrypoint --ir-json IR --node NODE --run-id RUN \\
        [--metadata URL] [--param NAME=VALUE ...]

The values that vary (the compiled pipeline, the run id, the parameters) never appear in the
script: it reads them from shell variables, so no value is ever parsed by the shell or needs
quoting. A bash task sets them as environment variables, a pod as positional arguments of
``sh -c``. What Airflow renders with Jinja at run time is marked ``templated``; the rest (above
all the pipeline, whose text may contain ``{{``) is passed through as a literal.

- **Run id**: ``<dag_id>.<Airflow run id>``, characters other than letters, digits, ``_``, ``.``
  and ``-`` replaced by ``_`` (:func:`conveyor_run_id`). One Conveyor run per DAG run; the DAG
  id keeps two DAGs sharing a metadata store apart (both have a run ``manual__2024-...``), and a
  rerun of the same DAG run (cleared tasks, retries) continues the same Conveyor run.
- **Parameters**: each runtime parameter is an Airflow ``param`` of the DAG, so ``dag_run.conf``
  (the trigger form, ``airflow dags trigger --conf``, ``airflow dags test -c``) sets it; a value of
  None leaves the ``--param`` out, so the pipeline's own default applies (:func:`conveyor_param`).

Nothing here imports Airflow.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from conveyor.ir.model import NodeIR, PipelineIR

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def conveyor_run_id(airflow_run_id: str, dag_id: str) -> str:
    """The Conveyor run id of one DAG run (a Jinja filter:
    ``{{ run_id | conveyor_run_id(dag.dag_id) }}``)."""
    return _UNSAFE.sub("_", f"{dag_id}.{airflow_run_id}")


def conveyor_param(value: Any, name: str, type_name: str = "str") -> str:
    """``NAME=VALUE`` for ``--param``, or ``""`` for None (a Jinja filter:
    ``{{ params.rows | conveyor_param('rows', 'int') }}``). Booleans are spelled
    ``true``/``false``; a whole float given for an int (JSON Schema lets ``5.0`` pass as an
    integer) is written ``5``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"{name}={'true' if value else 'false'}"
    if type_name == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{name}={value}"


#: Filters the task templates use; the DAG registers them as ``user_defined_filters``.
FILTERS = {"conveyor_run_id": conveyor_run_id, "conveyor_param": conveyor_param}

RUN_ID_TEMPLATE = "{{ run_id | conveyor_run_id(dag.dag_id) }}"


def param_template(ir: PipelineIR, name: str) -> str:
    """The Jinja template of runtime parameter ``name``'s ``--param`` value."""
    return f"{{{{ params.{name} | conveyor_param('{name}', '{ir.parameters[name].type}') }}}}"


@dataclass(frozen=True)
class Value:
    """A value given to a task: ``templated`` ones are rendered by Airflow's Jinja at run time,
    the others passed exactly as they are."""

    text: str
    templated: bool = False


@dataclass(frozen=True)
class TaskCommand:
    """How one task runs one node.

    ``script`` is the ``sh`` script (constant; no Jinja). A bash task runs it with ``env``
    added to the worker's environment; a pod runs ``sh -c script conveyor-task ARGS...`` with
    ``args`` as the positional parameters ``$1``, ``$2``, ...
    """

    node_id: str
    script: str
    env: dict[str, Value] = field(default_factory=dict)
    args: list[Value] = field(default_factory=list)


def _script(python: str, node_id: str, ir: str, run_id: str, metadata: str | None,
            params: list[str]) -> str:
    # Each argument is a shell variable reference, so no value is parsed by the shell; an empty
    # parameter variable (a None value) drops its --param altogether.
    parts = [f"exec {shlex.quote(python)} -m conveyor.runtime.entrypoint",
             f'--ir-json "${{{ir}}}"', f"--node {shlex.quote(node_id)}",
             f'--run-id "${{{run_id}}}"']
    if metadata is not None:
        parts.append(f'--metadata "${{{metadata}}}"')
    parts.extend(f'${{{ref}:+--param "${{{ref}}}"}}' for ref in params)
    return " ".join(parts)


def bash_command(ir: PipelineIR, node: NodeIR, python: str,
                 metadata_url: str | None) -> TaskCommand:
    """The command of a bash task: values in environment variables ``CONVEYOR_*``."""
    env = {"CONVEYOR_IR_JSON": Value(ir.to_json(indent=None)),
           "CONVEYOR_RUN_ID": Value(RUN_ID_TEMPLATE, templated=True)}
    if metadata_url:
        env["CONVEYOR_TASK_METADATA"] = Value(metadata_url)
    param_vars = []
    for name in ir.parameters:
        env[f"CONVEYOR_PARAM_{name}"] = Value(param_template(ir, name), templated=True)
        param_vars.append(f"CONVEYOR_PARAM_{name}")
    script = _script(python, node.id, "CONVEYOR_IR_JSON", "CONVEYOR_RUN_ID",
                     "CONVEYOR_TASK_METADATA" if metadata_url else None, param_vars)
    return TaskCommand(node.id, script, env=env)


def pod_command(ir: PipelineIR, node: NodeIR, python: str,
                metadata_url: str | None) -> TaskCommand:
    """The command of a pod: values as positional parameters of ``sh -c``."""
    args = [Value(ir.to_json(indent=None)), Value(RUN_ID_TEMPLATE, templated=True)]
    metadata = None
    if metadata_url:
        args.append(Value(metadata_url))
        metadata = str(len(args))
    param_refs = []
    for name in ir.parameters:
        args.append(Value(param_template(ir, name), templated=True))
        param_refs.append(str(len(args)))
    script = _script(python, node.id, "1", "2", metadata, param_refs)
    return TaskCommand(node.id, script, args=args)


def pod_cmds(command: TaskCommand) -> list[str]:
    """The container command of a pod task; its arguments are ``command.args``."""
    return ["/bin/sh", "-c", command.script, "conveyor-task"]
