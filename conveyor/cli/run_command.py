"""``conveyor run``: load a pipeline file, compile it and run it with the LocalRunner."""
from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from conveyor.dsl.loading import load_pipeline
from conveyor.ir import compile_pipeline
from conveyor.orchestrators.local import LocalRunner
from conveyor.orchestrators.progress import NullProgress, choose_progress
from conveyor.runtime.entrypoint import parse_params
from conveyor.runtime.exit import exit_process


def run_command(args: argparse.Namespace) -> int:
    """Run the pipeline; print progress and a summary; 0 if every node succeeded, else 1."""
    pipeline = load_pipeline(args.pipeline_file, args.pipeline)
    ir = compile_pipeline(pipeline, root=args.root)
    progress = NullProgress() if args.quiet else choose_progress(sys.stdout)
    runner = LocalRunner(max_workers=args.workers, metadata=args.metadata, progress=progress,
                         enable_cache=not args.no_cache, raise_on_failure=False,
                         beam_args=args.beam_arg)
    on_main_thread = threading.current_thread() is threading.main_thread()
    if on_main_thread:
        previous = signal.signal(signal.SIGINT, _stop_now(runner, args))
    try:
        result = runner.run(ir, run_id=args.run_id, resume=args.resume,
                            parameters=parse_params(args.param))
    except ValueError as err:
        print(f"conveyor: {err}", file=sys.stderr)
        return 2
    finally:
        if on_main_thread:
            signal.signal(signal.SIGINT, previous)
    print()
    print(result.summary().replace("<pipeline file>", args.pipeline_file))
    return 0 if result.succeeded else 1


def _stop_now(runner: LocalRunner,
              args: argparse.Namespace) -> Callable[[int, FrameType | None], None]:
    """The Ctrl-C handler of a run: end the process at once. A node's thread cannot be
    interrupted, and waiting for it could take as long as training; so, as after a crash, its
    execution stays RUNNING until this process is gone, and resuming the run marks it
    abandoned (its staged outputs are removed, nothing half-written is ever live) and runs it
    again."""
    def handler(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        resume = ""
        if runner.run_id:
            where = [option for flag, value in (("--pipeline", args.pipeline),
                                                ("--root", args.root),
                                                ("--metadata", args.metadata)) if value
                     for option in (flag, value)]
            command = ["conveyor", "run", args.pipeline_file, *where, "--resume", runner.run_id]
            resume = (f" Run {runner.run_id} stopped; nodes that were running are left "
                      f"unfinished. Continue it with: {shlex.join(command)}")
        print(f"\nconveyor: interrupted.{resume}", file=sys.stderr)
        exit_process(130, now=True)

    return handler
