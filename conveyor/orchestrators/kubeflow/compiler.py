"""Rendering a :class:`~conveyor.orchestrators.kubeflow.plan.PipelinePlan` with the kfp SDK.

Each node becomes a ``@dsl.container_component`` whose inputs are the run id and every runtime
parameter, and whose ``dsl.ContainerSpec`` runs the single-node entrypoint with the IR inline;
a ``@dsl.pipeline`` function with one parameter per runtime parameter calls them in IR order,
wiring ``.after(...)`` from the IR's dependencies, and ``kfp.compiler.Compiler`` writes the YAML.
The signatures are built at run time (``__signature__``), because the kfp SDK reads a
component's inputs from its function's signature. This module imports kfp; it is imported only
when compiling.
"""
from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Callable
from typing import Any

from kfp import compiler, dsl

from conveyor.dsl.channel import RUNTIME_TYPES
from conveyor.metadata.config import ENV_VAR
from conveyor.orchestrators.kubeflow.plan import (
    ENTRYPOINT_COMMAND,
    IR_INPUT,
    RUN_ID_INPUT,
    PipelinePlan,
    TaskPlan,
)

_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD


def build_pipeline(plan: PipelinePlan) -> Any:
    """The kfp pipeline (a ``GraphComponent``) of ``plan``."""
    ir = plan.ir
    parameters = list(ir.parameters.values())
    components = {task.node_id: _component(plan, task) for task in plan.tasks}
    kubernetes = _kubernetes_config(plan)

    def pipeline_body(*values: Any) -> None:
        *runtime_values, ir_value = values
        channels = dict(zip([p.name for p in parameters], runtime_values, strict=True))
        tasks: dict[str, Any] = {}
        for task in plan.tasks:
            kfp_task = components[task.node_id](
                **{RUN_ID_INPUT: dsl.PIPELINE_JOB_ID_PLACEHOLDER, IR_INPUT: ir_value},
                **channels)
            # Conveyor's launcher caches; see the package docstring for why KFP must not.
            kfp_task.set_caching_options(False)
            kfp_task.set_display_name(task.node_id)
            for name, value in plan.env.items():
                kfp_task.set_env_variable(name, value)
            if kubernetes:
                kfp_task.platform_config["kubernetes"] = kubernetes
            if task.after:
                kfp_task.after(*(tasks[node_id] for node_id in task.after))
            tasks[task.node_id] = kfp_task

    signature = [inspect.Parameter(p.name, _POSITIONAL, annotation=RUNTIME_TYPES[p.type],
                                   default=inspect.Parameter.empty if p.default is None
                                   else p.default)
                 for p in parameters]
    # The IR is a pipeline input whose default is the compiled IR (last: it has a default, and
    # runtime parameters without one must come first). Nobody is meant to set it.
    signature.append(inspect.Parameter(IR_INPUT, _POSITIONAL, annotation=str,
                                       default=plan.ir_json))
    doc = plan.description
    described = [p for p in parameters if p.description]
    if described:
        # The kfp SDK takes parameter descriptions from an "Args:" section of the docstring.
        doc += "\n\nArgs:\n" + "\n".join(f"    {p.name}: {' '.join(p.description.split())}"
                                         for p in described)
    _shape(pipeline_body, ir.name, doc, signature)
    return dsl.pipeline(name=ir.name, description=plan.description,
                        pipeline_root=plan.kfp_pipeline_root)(pipeline_body)


def write_pipeline(plan: PipelinePlan, output_path: str) -> None:
    """Compile ``plan`` to KFP v2 YAML at ``output_path``, atomically: the file is either the
    previous one or the complete new one."""
    pipeline = build_pipeline(plan)
    directory = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kfp-", suffix=".yaml")
    os.close(fd)
    try:
        compiler.Compiler().compile(pipeline_func=pipeline, package_path=tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the YAML is meant to be shared
        os.replace(tmp, output_path)
    except BaseException:
        os.unlink(tmp)
        raise


def _component(plan: PipelinePlan, task: TaskPlan) -> Any:
    names = [RUN_ID_INPUT, IR_INPUT, *plan.ir.parameters]

    def container(*placeholders: Any) -> dsl.ContainerSpec:
        values = dict(zip(names, (str(p) for p in placeholders), strict=True))
        run_id = values.pop(RUN_ID_INPUT)
        ir_json = values.pop(IR_INPUT)
        return dsl.ContainerSpec(image=plan.image, command=list(ENTRYPOINT_COMMAND),
                                 args=task.args(ir_json, run_id, values))

    signature = [inspect.Parameter(RUN_ID_INPUT, _POSITIONAL, annotation=str),
                 inspect.Parameter(IR_INPUT, _POSITIONAL, annotation=str)]
    signature += [inspect.Parameter(p.name, _POSITIONAL, annotation=RUNTIME_TYPES[p.type])
                  for p in plan.ir.parameters.values()]
    node = plan.ir.node(task.node_id)
    _shape(container, task.node_id, f"Conveyor node '{node.id}': {node.component}.", signature)
    return dsl.container_component(container)


def _kubernetes_config(plan: PipelinePlan) -> dict[str, Any]:
    # The kfp-kubernetes extension's platform config, written directly (the same JSON that
    # kfp.kubernetes.use_secret_as_env / mount_pvc write) so that it need not be installed.
    config: dict[str, Any] = {}
    if plan.secret_env is not None:
        name, key = plan.secret_env
        config["secretAsEnv"] = [{"secretName": name,
                                  "keyToEnv": [{"secretKey": key, "envVar": ENV_VAR}]}]
    if plan.pvc is not None:
        claim, mount = plan.pvc
        config["pvcMount"] = [{"constant": claim, "mountPath": mount}]
    return config


def _shape(function: Callable[..., Any], name: str, doc: str,
           parameters: list[inspect.Parameter]) -> None:
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = doc
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
