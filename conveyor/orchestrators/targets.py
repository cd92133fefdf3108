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

from conveyor.errors import DefinitionError, UnsupportedFeatureError
from conveyor.ir import PipelineIR

TARGETS: dict[str, str] = {
    "ir": "conveyor.orchestrators.ir_target",          # the IR itself, as JSON
    "kubeflow": "conveyor.orchestrators.kubeflow",     # Kubeflow Pipelines v2 YAML
    "airflow": "conveyor.orchestrators.airflow",       # an Airflow DAG file
}


#: Linux refuses a single argument or environment string longer than this (MAX_ARG_STRLEN); a
#: task of every target receives the whole compiled pipeline as one (``--ir-json``).
MAX_INLINE_IR_BYTES = 128 * 1024 - 1024


def check_inline_ir(ir: PipelineIR, target: str) -> None:
    """Refuse a compiled pipeline too large to reach a task as one command-line argument."""
    size = len(ir.to_json(indent=None).encode())
    if size > MAX_INLINE_IR_BYTES:
        raise UnsupportedFeatureError(
            f"pipeline '{ir.name}': the compiled pipeline is {size // 1024} KiB; {target} tasks "
            f"receive it as one argument, which Linux limits to 128 KiB. Split the pipeline or "
            f"shorten its parameters")


def load_target(name: str) -> ModuleType:
    """The module of compile target ``name``; an unknown name lists the valid ones."""
    if name not in TARGETS:
        raise DefinitionError(f"unknown compile target '{name}'; valid targets: "
                              f"{', '.join(TARGETS)}")
    return importlib.import_module(TARGETS[name])
