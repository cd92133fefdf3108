"""A whole pipeline as a user runs it: ``conveyor run FILE`` cold (fresh root) and fully cached.

Each measurement is a fresh ``conveyor run`` process, timed from start to exit (Python start-up,
imports, metadata, every node), with its own CPU seconds and peak memory (``ru_utime`` +
``ru_stime`` and ``ru_maxrss`` from ``wait4``; they count C++ threads and allocations too).
For each of ``--repeats`` fresh roots, three runs on the same root:

* ``cold``: every node executes;
* ``second``: with a resolver such as ``LatestBlessedModel``, what the first run blessed is now
  the baseline, so the Evaluator (and the Pusher after it) run again, as in TFX; everything
  else is reused (without a resolver this run is already fully cached);
* ``cached``: every node is reused. The script checks that, and that the run imports no heavy
  library (``-X importtime``).

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
    cpu_seconds: float
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
    return Measurement(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, heavy,
                       stdout)


def main() -> None:
    """Print cold, second and fully cached figures, medians over fresh roots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", default=DEFAULT_PIPELINE)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs: dict[str, list[Measurement]] = {"cold": [], "second": [], "cached": []}
    # Wall times differ between machines of the same class and with what else runs: the load
    # before the first run and each run's CPU seconds tell a slow machine from a busy one.
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as root:
            runs["cold"].append(run_once(args.pipeline, root, trace_imports=False))
            runs["second"].append(run_once(args.pipeline, root, trace_imports=False))
            runs["cached"].append(run_once(args.pipeline, root, trace_imports=True))
            last = runs["cached"][-1].output
            if " COMPLETE" in last or "CACHED" not in last:
                sys.exit(f"the third run was not fully cached:\n{last}")
    print(f"pipeline: {os.path.relpath(args.pipeline, REPO)}  ({args.repeats} fresh roots; "
          f"load before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}; "
          f"{os.cpu_count()} cores)")
    print(f"{'run':<8} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7} {'peak MB':>8}")
    for name, measured in runs.items():
        times = [m.seconds for m in measured]
        cpu = statistics.median(m.cpu_seconds for m in measured)
        print(f"{name:<8} {statistics.median(times):>9.2f} {min(times):>7.2f} "
              f"{max(times):>7.2f} {cpu:>7.2f} {max(m.peak_mb for m in measured):>8.0f}")
    heavy = sorted({h for m in runs["cached"] for h in m.heavy_imported})
    print(f"heavy modules imported by fully cached runs: {', '.join(heavy) or 'none'}")
    print("targets: cold < 25 s, fully cached < 2 s (medians), cached imports no TensorFlow")


if __name__ == "__main__":
    main()
