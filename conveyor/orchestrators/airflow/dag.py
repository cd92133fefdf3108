"""Build the Airflow DAG of a compiled pipeline: what a generated DAG file calls.

::

    dag = build_dag(PIPELINE_IR, dag_id="hello", schedule="@daily", ...)

One task per node, with the node's id as task id, running the single-node entrypoint (see
:mod:`conveyor.orchestrators.airflow.commands`); a task depends on the nodes its node depends on.
Each runtime parameter becomes a typed DAG ``Param`` whose default is the compiled one.

A node that stops the run (its executor raised StopRun; the entrypoint exits 3) publishes its
outputs and its task fails, so nothing downstream runs and the DAG run fails, as a run stopped
by a validator fails on every orchestrator (and alerting on failed DAG runs sees it).

Imports Airflow and Conveyor's IR, never an ML library, so parsing a DAG file stays fast. Uses
the import paths of Airflow 3 (the task SDK, the standard provider) and falls back to those of
Airflow 2.10.
"""
from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from conveyor.errors import DefinitionError, MissingDependencyError
from conveyor.ir.model import NodeIR, PipelineIR
from conveyor.ir.parameters import parameter_minimum, parameter_values
from conveyor.metadata.config import ENV_VAR
from conveyor.orchestrators.airflow.commands import (
    FILTERS,
    TaskCommand,
    Value,
    bash_command,
    pod_cmds,
    pod_command,
)
from conveyor.orchestrators.airflow.options import DagOptions, check_expressible

if TYPE_CHECKING:
    from airflow.models.baseoperator import BaseOperator
    from airflow.models.dag import DAG
    from airflow.models.param import Param
    from airflow.template.templater import LiteralValue
    from airflow.utils.template import literal
else:
    try:  # Airflow 3: the task SDK
        from airflow.sdk import DAG, Param
    except ImportError:  # Airflow 2
        from airflow.models.dag import DAG
        from airflow.models.param import Param
    try:
        from airflow.sdk import literal
    except ImportError:
        from airflow.utils.template import literal

KUBERNETES_PROVIDER = "apache-airflow-providers-cncf-kubernetes"

#: JSON Schema types of Airflow params, by runtime parameter type.
_PARAM_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}


def build_dag(ir_json: str, **options: Any) -> DAG:
    """The DAG of the compiled pipeline ``ir_json``; ``options`` are those of
    :class:`~conveyor.orchestrators.airflow.options.DagOptions`. Raises DefinitionError for what
    Airflow cannot run (see :func:`~conveyor.orchestrators.airflow.options.check_expressible`)
    and MissingDependencyError when the chosen operator's provider is not installed."""
    ir = PipelineIR.from_json(ir_json)
    opts = DagOptions.from_kwargs(options)
    check_expressible(ir, opts)
    operator_class = _operator_class(opts.operator)
    defaults = parameter_values(ir, opts.params, DefinitionError)
    dag = DAG(
        dag_id=opts.dag_id or ir.name,
        description=f"Conveyor pipeline '{ir.name}' ({len(ir.nodes)} nodes)",
        doc_md=_doc(ir),
        schedule=opts.schedule,
        start_date=opts.start_datetime(),
        catchup=opts.catchup,
        default_args={"owner": "conveyor", "retries": opts.retries,
                      "retry_delay": timedelta(seconds=opts.retry_delay_s)},
        params={name: _param(ir, name, value) for name, value in defaults.items()},
        user_defined_filters=dict(FILTERS),
        tags=list(opts.tags),
    )
    tasks: dict[str, BaseOperator] = {}
    with dag:
        for node in ir.nodes:
            tasks[node.id] = _task(operator_class, ir, node, opts)
            for upstream in _depends_on(node):
                tasks[upstream] >> tasks[node.id]
    return dag


def _depends_on(node: NodeIR) -> list[str]:
    return list(dict.fromkeys([*(ref.producer for ref in node.inputs.values()),
                               *node.upstream]))


def _param(ir: PipelineIR, name: str, default: Any) -> Param:
    declared = ir.parameters[name]
    kind = _PARAM_TYPES[declared.type]
    # A field's minimum becomes JSON Schema's, so Airflow refuses a trigger below it up front.
    minimum = parameter_minimum(ir, name)
    return Param(default, type=kind if default is not None else ["null", kind],
                 description=declared.description or f"runtime parameter ({declared.type})",
                 **({"minimum": minimum} if minimum is not None else {}))


def _doc(ir: PipelineIR) -> str:
    return (f"Conveyor pipeline **{ir.name}**, root `{ir.root}`. Each task runs "
            f"`python -m conveyor.runtime.entrypoint` for one node; the Conveyor run id is "
            f"`<dag_id>.<run_id>` (see `conveyor runs`, `conveyor show RUN_ID`).")


def _operator_class(operator: str) -> type[BaseOperator]:
    if operator == "kubernetes":
        try:
            from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        except ImportError as err:
            raise MissingDependencyError(
                f"the kubernetes operator needs the Airflow provider package "
                f"'{KUBERNETES_PROVIDER}', which is not installed where the DAG is parsed. "
                f"Install it with: pip install {KUBERNETES_PROVIDER}") from err
        return KubernetesPodOperator  # type: ignore[no-any-return]
    try:  # Airflow 3 (and Airflow 2 with the standard provider)
        from airflow.providers.standard.operators.bash import BashOperator
    except ImportError:
        from airflow.operators.bash import BashOperator
    return BashOperator  # type: ignore[no-any-return]


def _value(value: Value) -> str | LiteralValue:
    return value.text if value.templated else literal(value.text)


def _task(operator_class: type[BaseOperator], ir: PipelineIR, node: NodeIR,
          opts: DagOptions) -> BaseOperator:
    if opts.operator == "kubernetes":
        command = pod_command(ir, node, opts.python or "python", opts.metadata_url)
        return operator_class(**kubernetes_arguments(command, opts))
    command = bash_command(ir, node, opts.python or sys.executable, opts.metadata_url)
    return operator_class(**bash_arguments(command))


def bash_arguments(command: TaskCommand) -> dict[str, Any]:
    """Keyword arguments of the BashOperator running ``command``."""
    return {
        "task_id": command.node_id,
        "bash_command": command.script,
        "env": {name: _value(value) for name, value in command.env.items()},
        "append_env": True,
    }


def kubernetes_arguments(command: TaskCommand, opts: DagOptions) -> dict[str, Any]:
    """Keyword arguments of the KubernetesPodOperator running ``command``."""
    arguments: dict[str, Any] = {
        "task_id": command.node_id,
        "namespace": opts.namespace,
        "image": opts.image,
        "cmds": [literal(part) for part in pod_cmds(command)],
        "arguments": [_value(value) for value in command.args],
        "get_logs": True,
    }
    if opts.metadata_secret is not None:
        # The kubernetes client comes with the cncf provider, like the operator itself.
        from kubernetes.client import V1EnvVar, V1EnvVarSource, V1SecretKeySelector

        name, key = opts.secret_ref()
        arguments["env_vars"] = [V1EnvVar(name=ENV_VAR, value_from=V1EnvVarSource(
            secret_key_ref=V1SecretKeySelector(name=name, key=key)))]
    return arguments
