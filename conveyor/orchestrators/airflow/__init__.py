"""Compile target ``airflow``: an Airflow DAG file whose tasks run the single-node entrypoint.

::

    conveyor compile --target airflow pipeline.py -o dags/penguin.py [--schedule @daily]
        [--start-date 2024-01-01] [--catchup] [--retries 2] [--retry-delay 60] [--dag-id ID]
        [--param NAME=VALUE] [--operator bash|kubernetes --image IMAGE --namespace NS]
        [--python PATH] [--metadata-url URL]

or, from Python, ``compile_airflow(pipeline, "dags/penguin.py", schedule="@daily")``.

The file is small: the compiled pipeline as a JSON string and one call to
:func:`conveyor.orchestrators.airflow.dag.build_dag`. Parsing it imports Airflow and Conveyor's
IR, never TensorFlow, Beam, TFDV or TFMA. Runtime parameters are DAG params, set per run through
``dag_run.conf`` without recompiling. How tasks are made, run ids chosen and values passed:
:mod:`~conveyor.orchestrators.airflow.dag` and :mod:`~conveyor.orchestrators.airflow.commands`.
This module does not import Airflow.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from conveyor.ir.model import PipelineIR
from conveyor.orchestrators.airflow.compiler import compile_airflow, render_dag_file
from conveyor.orchestrators.airflow.options import OPERATORS, DagOptions

__all__ = ["DESCRIPTION", "DagOptions", "add_arguments", "compile_airflow", "compile_from_args",
           "render_dag_file"]

DESCRIPTION = "an Airflow DAG file (one task per node, each running the single-node entrypoint)"


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The airflow target's options."""
    add = _adder(group)
    add("--dag-id", help="DAG id (default: the pipeline name)")
    add("--schedule", help="cron expression or preset such as @daily (default: none; runs are "
                           "triggered)")
    add("--start-date", default="2024-01-01", help="ISO date of the first interval, UTC "
                                                   "(default: 2024-01-01)")
    add("--catchup", action=argparse.BooleanOptionalAction, default=False,
        help="run the intervals missed since the start date (default: no)")
    add("--retries", type=int, default=0, help="retries of each task (default: 0)")
    add("--retry-delay", type=float, default=300.0, metavar="SECONDS",
        help="wait between retries (default: 300)")
    add("--param", dest="airflow_params", action="append", default=[], metavar="NAME=VALUE",
        help="default of a runtime parameter in the DAG (repeatable; default: the pipeline's)")
    add("--operator", choices=OPERATORS, default="bash",
        help="bash: a subprocess on the worker; kubernetes: a pod per task (default: bash)")
    add("--image", help="image of the pods (kubernetes operator)")
    add("--namespace", default="default", help="namespace of the pods (default: default)")
    add("--python", help="interpreter tasks run (default: Airflow's own; 'python' in pods)")
    add("--metadata-url", help="metadata store tasks record into (default: the pipeline's, "
                               "else $CONVEYOR_METADATA on the worker, else <root>/"
                               "metadata.sqlite); no passwords")
    add("--metadata-secret", metavar="NAME[:KEY]",
        help="kubernetes operator: set each pod's CONVEYOR_METADATA from this Kubernetes "
             "secret (key 'url' by default)")


def _adder(group: argparse._ArgumentGroup) -> Callable[..., None]:
    # `conveyor compile --help` adds every target's options to one parser; an option another
    # target already defines is left to it rather than crashing help with a conflict.
    def add(flag: str, **kwargs: Any) -> None:
        if flag not in group._option_string_actions:
            group.add_argument(flag, **kwargs)
    return add


def compile_from_args(ir: PipelineIR, output: str, args: argparse.Namespace) -> None:
    """Write the DAG file of ``ir`` to ``output`` with the options in ``args``."""
    params: dict[str, str] = {}
    for pair in getattr(args, "airflow_params", None) or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            from conveyor.errors import DefinitionError

            raise DefinitionError(f"--param expects NAME=VALUE, got {pair!r}")
        params[name] = value
    compile_airflow(ir, output, dag_id=args.dag_id, schedule=args.schedule,
                    start_date=args.start_date, catchup=args.catchup, retries=args.retries,
                    retry_delay_s=args.retry_delay, params=params, operator=args.operator,
                    image=args.image, namespace=args.namespace, python=args.python,
                    metadata_url=args.metadata_url,
                    metadata_secret=args.metadata_secret)
