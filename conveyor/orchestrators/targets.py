"""Compile targets: one line each, resolved lazily so that ``conveyor --help`` stays fast.

A target module provides::

    DESCRIPTION: str                       one line for --help
    def add_arguments(group) -> None       its own command-line options (argparse group)
    def compile_from_args(ir, output, args) -> None
                                           write the compiled form of ``ir`` to ``output``

and imports its orchestrator's SDK (kfp, airflow) only inside the functions that use it.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from conveyor.errors import DefinitionError

TARGETS: dict[str, str] = {
    "ir": "conveyor.orchestrators.ir_target",          # the IR itself, as JSON
    "kubeflow": "conveyor.orchestrators.kubeflow",     # Kubeflow Pipelines v2 YAML
    "airflow": "conveyor.orchestrators.airflow",       # an Airflow DAG file
}


def load_target(name: str) -> ModuleType:
    """The module of compile target ``name``; an unknown name lists the valid ones."""
    if name not in TARGETS:
        raise DefinitionError(f"unknown compile target '{name}'; valid targets: "
                              f"{', '.join(TARGETS)}")
    return importlib.import_module(TARGETS[name])
