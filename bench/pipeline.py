"""A whole pipeline as a user runs it: ``conveyor run FILE`` cold (fresh root) and fully cached.

Each measurement is a fresh ``conveyor run`` process, timed from start to exit (Python start-up,
imports, metadata, every node), with its peak memory taken from ``getrusage(RUSAGE_CHILDREN)``
(``ru_maxrss`` of the largest child; it counts C++ allocations too). For each of ``--repeats``
fresh roots: one cold run, then one fully cached run on the same root. A cached run must reuse
every node and must not import TensorFlow; the script checks both (``-X importtime`` on the
cached runs, looking for ``tensorflow``).

Targets for the full penguin pipeline: cold under 25 s and fully cached under 2 s (medians).

    .venv/bin/python bench/pipeline.py [--pipeline conveyor/examples/penguin_pipeline.py]
                                       [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PIPELINE = os.path.join(REPO, "conveyor", "examples", "penguin_pipeline.py")
#: Modules a fully cached run must not import: the heavy libraries only executors need.
HEAVY = ("tensorflow", "tensorflow_model_analysis", "tensorflow_data_validation",
         "tensorflow_transform", "apache_beam")


@dataclass
class Measurement:
    """One ``conveyor run`` process."""

    seconds: float
    peak_mb: float
    heavy_imported: list[str]
    output: str


def run_once(pipeline: str, root: str, *, trace_imports: bool) -> Measurement:
    """Run the pipeline in a fresh process on ``root``; exit loudly if the run fails."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = [sys.executable, *(["-X", "importtime"] if trace_imports else []),
               "-m", "conveyor", "run", pipeline, "--root", root]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=REPO)
        # wait4 gives this child's own resource usage, so each run's peak is its own.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"conveyor run failed ({proc.returncode}):\n{stdout}\n{stderr[-4000:]}")
    heavy = sorted({line.split("|")[-1].strip().split(".")[0]
                    for line in stderr.splitlines() if line.startswith("import time:")}
                   & set(HEAVY)) if trace_imports else []
    return Measurement(seconds, usage.ru_maxrss / 1024, heavy, stdout)


def main() -> None:
    """Print cold and cached figures, medians over fresh roots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", default=DEFAULT_PIPELINE)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cold: list[Measurement] = []
    cached: list[Measurement] = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as root:
            cold.append(run_once(args.pipeline, root, trace_imports=False))
            cached.append(run_once(args.pipeline, root, trace_imports=True))
            if " COMPLETE" in cached[-1].output or "CACHED" not in cached[-1].output:
                sys.exit(f"the second run was not fully cached:\n{cached[-1].output}")
    print(f"pipeline: {os.path.relpath(args.pipeline, REPO)}  ({args.repeats} fresh roots; "
          f"load: {os.getloadavg()[0]:.2f})")
    print(f"{'run':<8} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MB':>8}")
    for name, runs in (("cold", cold), ("cached", cached)):
        times = [m.seconds for m in runs]
        print(f"{name:<8} {statistics.median(times):>9.2f} {min(times):>7.2f} "
              f"{max(times):>7.2f} {max(m.peak_mb for m in runs):>8.0f}")
    heavy = sorted({h for m in cached for h in m.heavy_imported})
    print(f"heavy modules imported by cached runs: {', '.join(heavy) or 'none'}")
    print("targets: cold < 25 s, cached < 2 s (medians), cached imports no TensorFlow")


if __name__ == "__main__":
    main()
