"""Run one node of a compiled pipeline: what each Kubeflow or Airflow task executes.

::

    python -m conveyor.runtime.entrypoint --ir pipeline.json --node trainer --run-id RUN \\
        [--param name=value ...] [--metadata URL] [--no-cache]

``--ir-json TEXT`` gives the compiled pipeline inline instead of as a file (compilers embed it in
task definitions, so a task needs nothing but the image).

The node's log (its output and log records) is written to its log file and, as it is written,
to stderr: the task log that the Kubeflow or Airflow UI shows. stdout holds only the result.

Exit status: 0 when the node completed or was reused from cache, 1 when it failed (the log path
is printed), 2 when the command or the compiled pipeline is wrong, 3 when the node completed but
stopped the run (its outputs are published; orchestrators must not run what depends on it).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from conveyor.runtime.exit import exit_process
from conveyor.runtime.logs import log_to_console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; values are converted by the launcher."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        params[name] = value
    return params


def build_parser() -> argparse.ArgumentParser:
    """The entrypoint's arguments."""
    parser = argparse.ArgumentParser(prog="python -m conveyor.runtime.entrypoint",
                                     description="Run one node of a compiled Conveyor pipeline.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ir", help="compiled pipeline file (JSON)")
    source.add_argument("--ir-json", help="compiled pipeline, inline")
    parser.add_argument("--node", required=True, help="id of the node to run")
    parser.add_argument("--run-id", required=True, help="run this node belongs to")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="runtime parameter value (repeatable)")
    parser.add_argument("--metadata", help="metadata URL (default: $CONVEYOR_METADATA, else "
                                           "<root>/metadata.sqlite)")
    parser.add_argument("--no-cache", action="store_true", help="always execute")
    parser.add_argument("--beam-arg", action="append", default=[], metavar="OPTION",
                        help="Beam pipeline option, e.g. --beam-arg=--runner=FlinkRunner "
                             "(repeatable)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node; return the exit status (see module docstring)."""
    args = build_parser().parse_args(argv)
    from conveyor.errors import ConveyorError, IRError
    from conveyor.ir import PipelineIR
    from conveyor.metadata import MetadataConfig, connect
    from conveyor.runtime.launcher import Launcher

    try:
        params = parse_params(args.param)
        ir = PipelineIR.load(args.ir) if args.ir else PipelineIR.from_json(args.ir_json)
        ir.node(args.node)
        config = MetadataConfig.resolve(args.metadata or ir.metadata, ir.root)
        with connect(config) as store:
            launcher = Launcher(ir, store, args.run_id, runtime_parameters=params,
                                enable_cache=not args.no_cache, beam_args=args.beam_arg,
                                echo_logs=True)
            store.ensure_run(ir.name, args.run_id, {
                "root": ir.root,
                "parameters": json.dumps(launcher.runtime_parameters, sort_keys=True),
            })
            result = launcher.launch(args.node)
    except (IRError, ValueError) as err:
        print(f"conveyor: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ConveyorError as err:
        print(f"conveyor: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({
            "node": result.node_id, "state": result.state, "execution_id": result.execution_id,
            "duration_s": result.duration_s, "log_path": result.log_path, "error": result.error,
            "stop_reason": result.stop_reason,
            "outputs": {k: [a.uri for a in arts] for k, arts in result.outputs.items()},
        }))
    else:
        print(f"{result.node_id}: {result.state} in {result.duration_s:.2f}s"
              + (f" (reused execution {result.cached_from})" if result.cached_from else ""))
    if not result.succeeded:
        print(f"conveyor: node '{result.node_id}' failed: {result.error}\n"
              f"log: {result.log_path}", file=sys.stderr)
        return EXIT_FAILED
    if result.stop_reason is not None:
        print(f"conveyor: node '{result.node_id}' stopped the run: {result.stop_reason}",
              file=sys.stderr)
        return EXIT_STOPPED
    return EXIT_OK


if __name__ == "__main__":
    log_to_console()
    exit_process(main())
