"""The ``conveyor`` command. Parsing is cheap; each command imports what it needs when it runs,
so ``conveyor --help`` answers without loading ML Metadata, TensorFlow or Beam."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from conveyor.cli import serving_commands
from conveyor.errors import ConveyorError
from conveyor.orchestrators.targets import TARGETS
from conveyor.runtime.exit import exit_process
from conveyor.runtime.logs import log_to_console


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default="runs",
                        help="pipeline root whose metadata.sqlite to read (default: runs)")
    parser.add_argument("--metadata", help="metadata URL instead (sqlite:///..., mysql://..., "
                                           "or $CONVEYOR_METADATA)")


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The command-line grammar, and its ``compile`` sub-parser (targets add options to it)."""
    parser = argparse.ArgumentParser(
        prog="conveyor",
        description="Typed ML pipelines with lineage, caching and resume.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run a pipeline file locally")
    run.add_argument("pipeline_file", help="Python file defining the pipeline")
    run.add_argument("--pipeline", help="pipeline name, when the file defines several")
    run.add_argument("--root", help="pipeline root (default: the pipeline's own)")
    run.add_argument("--metadata", help="metadata URL (default: <root>/metadata.sqlite)")
    run.add_argument("--run-id", help="id for the new run (default: time + random)")
    run.add_argument("--resume", metavar="RUN_ID",
                     help="re-run only the nodes of RUN_ID that failed or did not run")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="set a runtime parameter (repeatable)")
    run.add_argument("--workers", type=int, help="nodes run at once (default: cores)")
    run.add_argument("--no-cache", action="store_true", help="execute every node")
    run.add_argument("--beam-arg", action="append", default=[], metavar="OPTION",
                     help="Beam pipeline option for data components, e.g. "
                          "--beam-arg=--runner=FlinkRunner (repeatable)")
    run.add_argument("--quiet", action="store_true", help="print only the summary")

    compile_ = commands.add_parser(
        "compile", help="compile a pipeline file for Kubeflow, Airflow, or to IR",
        description="Compile a pipeline file. Every target runs each node through the same "
                    "single-node entrypoint (python -m conveyor.runtime.entrypoint).")
    compile_.add_argument("pipeline_file", help="Python file defining the pipeline")
    compile_.add_argument("--target", required=True, metavar="TARGET",
                          help=f"one of: {', '.join(TARGETS)}")
    compile_.add_argument("-o", "--output", required=True, help="file to write")
    compile_.add_argument("--pipeline", help="pipeline name, when the file defines several")
    compile_.add_argument("--root", help="pipeline root (default: the pipeline's own)")

    runs = commands.add_parser("runs", help="list runs, newest first")
    runs.add_argument("--pipeline", help="only runs of this pipeline")
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    _add_store_options(runs)

    show = commands.add_parser("show", help="a run's nodes, states, durations and outputs, "
                                            "or one artifact (by numeric id)")
    show.add_argument("target", help="run id, or artifact id")
    _add_store_options(show)

    lineage = commands.add_parser("lineage", help="what produced an artifact and what used it")
    lineage.add_argument("artifact_id", type=int)
    lineage.add_argument("--direction", choices=["upstream", "downstream", "both"],
                         default="both")
    lineage.add_argument("--depth", type=int, default=20, help="hops to follow (default 20)")
    _add_store_options(lineage)

    explain = commands.add_parser("explain-cache",
                                  help="why a node was, or was not, reused from cache")
    explain.add_argument("run_id")
    explain.add_argument("node_id")
    _add_store_options(explain)
    serving_commands.add_arguments(commands.add_parser(
        "rollback", help="re-point a served model's 'stable' label to its previous good version"))
    serving_commands.add_arguments(commands.add_parser(
        "promote", help="move a served model's 'stable' label to its canary version"))
    return parser, compile_


def console_main() -> NoReturn:
    """The ``conveyor`` executable: :func:`main`, then a quick :func:`exit_process`."""
    log_to_console()
    exit_process(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``conveyor`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, compile_parser = build_parser()
    try:
        if argv[:1] == ["compile"]:
            _add_compile_target_options(parser, compile_parser, argv)
        args = parser.parse_args(argv)
        if args.command == "run":
            from conveyor.cli.run_command import run_command

            return run_command(args)
        if args.command == "compile":
            from conveyor.cli.compile_command import compile_command

            return compile_command(args)
        if args.command in ("rollback", "promote"):
            handle = serving_commands.rollback if args.command == "rollback" else \
                serving_commands.promote
            return handle(args)
        from conveyor.cli.inspect_commands import explain_cache, lineage, list_runs, show

        handler = {"runs": list_runs, "show": show, "lineage": lineage,
                   "explain-cache": explain_cache}[args.command]
        return handler(args)
    except ConveyorError as err:
        print(f"conveyor: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `conveyor lineage 5 | head`): that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("conveyor: interrupted", file=sys.stderr)
        return 130


def _add_compile_target_options(parser: argparse.ArgumentParser,
                                compile_parser: argparse.ArgumentParser, argv: list[str]) -> None:
    # A target's own options exist only once the target is known: help lists every target's;
    # otherwise a first pass finds --target and only that target's module is imported.
    from conveyor.orchestrators.targets import load_target

    if "-h" in argv or "--help" in argv:
        chosen = list(TARGETS)
    else:
        known, _ = parser.parse_known_args(argv)
        chosen = [known.target]
    for name in chosen:
        module = load_target(name)
        module.add_arguments(compile_parser.add_argument_group(f"{name} options",
                                                                module.DESCRIPTION))


if __name__ == "__main__":
    sys.exit(main())
