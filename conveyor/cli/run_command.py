"""``conveyor run``: load a pipeline file, compile it and run it with the LocalRunner."""
from __future__ import annotations

import argparse
import sys

from conveyor.dsl.loading import load_pipeline
from conveyor.ir import compile_pipeline
from conveyor.orchestrators.local import LocalRunner
from conveyor.orchestrators.progress import NullProgress, choose_progress
from conveyor.runtime.entrypoint import parse_params


def run_command(args: argparse.Namespace) -> int:
    """Run the pipeline; print progress and a summary; 0 if every node succeeded, else 1."""
    pipeline = load_pipeline(args.pipeline_file, args.pipeline)
    ir = compile_pipeline(pipeline, root=args.root)
    progress = NullProgress() if args.quiet else choose_progress(sys.stdout)
    runner = LocalRunner(max_workers=args.workers, metadata=args.metadata, progress=progress,
                         enable_cache=not args.no_cache, raise_on_failure=False,
                         beam_args=args.beam_arg)
    try:
        result = runner.run(ir, run_id=args.run_id, resume=args.resume,
                            parameters=parse_params(args.param))
    except ValueError as err:
        print(f"conveyor: {err}", file=sys.stderr)
        return 2
    print()
    print(result.summary().replace("<pipeline file>", args.pipeline_file))
    return 0 if result.succeeded else 1
