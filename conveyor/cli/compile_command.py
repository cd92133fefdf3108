"""``conveyor compile``: turn a pipeline file into a Kubeflow YAML, an Airflow DAG file or IR."""
from __future__ import annotations

import argparse
import os

from conveyor.dsl.loading import load_pipeline
from conveyor.ir import compile_pipeline
from conveyor.orchestrators.targets import load_target


def compile_command(args: argparse.Namespace) -> int:
    """Compile the pipeline file for ``args.target`` and write it to ``args.output``."""
    target = load_target(args.target)
    pipeline = load_pipeline(args.pipeline_file, args.pipeline)
    ir = compile_pipeline(pipeline, root=args.root)
    target.compile_from_args(ir, args.output, args)
    print(f"compiled pipeline '{ir.name}' ({len(ir.nodes)} nodes) for {args.target}: "
          f"{os.path.abspath(args.output)}")
    return 0
