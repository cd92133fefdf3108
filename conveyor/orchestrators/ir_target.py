"""Compile target ``ir``: the compiled pipeline itself, as JSON, for the single-node entrypoint."""
from __future__ import annotations

import argparse

from conveyor.ir import PipelineIR

DESCRIPTION = "the compiled pipeline as JSON (what every runner executes)"


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The IR target has no options of its own."""


def compile_from_args(ir: PipelineIR, output: str, args: argparse.Namespace) -> None:
    """Write ``ir`` to ``output``."""
    ir.save(output)
