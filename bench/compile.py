"""Compile time of a 50-node pipeline for each target, and parse time of the Airflow DAG file.

For each target: the median over repeats of compiling in a warm process (the IR is compiled
once per repeat too), and the wall time of the whole `conveyor compile` command in a fresh
process (Python start, imports, compile, write). For Airflow, the generated DAG file is then
parsed in fresh processes, as the scheduler's DAG processor would: the time to execute the file
(import of airflow and conveyor included) and whether it imported TensorFlow, Beam, TFDV or TFMA.
Targets: compile under 1 s, DAG parse under 1 s.

    .venv/bin/python bench/compile.py [--nodes 50] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_components import chain

from conveyor.ir import compile_pipeline
from conveyor.orchestrators.airflow import compile_airflow
from conveyor.orchestrators.kubeflow import compile_kubeflow

HERE = Path(__file__).resolve().parent
# Airflow's DAG processor has Airflow (and the jsonschema it validates params with) loaded
# before it parses a file; so the file's own cost is timed after those imports, and the whole
# process is timed too.
PARSE_PROBE = """
import json, runpy, sys, time
started = time.perf_counter()
import airflow, airflow.models.dag, jsonschema
airflow_loaded = time.perf_counter()
namespace = runpy.run_path(sys.argv[1])
done = time.perf_counter()
heavy = ["tensorflow", "apache_beam", "tensorflow_data_validation", "tensorflow_model_analysis"]
dags = [k for k, v in namespace.items() if type(v).__name__ == "DAG"]
print(json.dumps({"airflow": airflow_loaded - started, "file": done - airflow_loaded,
                  "heavy": [m for m in heavy if m in sys.modules], "dags": dags}))
"""


def _median_seconds(action: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _fresh_process(args: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(args, check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - began


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, AIRFLOW_HOME=str(work / "airflow"),
                   AIRFLOW__CORE__LOAD_EXAMPLES="False",
                   PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
        os.environ.update(AIRFLOW_HOME=env["AIRFLOW_HOME"], AIRFLOW__CORE__LOAD_EXAMPLES="False")
        pipeline = chain(args.nodes, str(work / "root"))
        pipeline_file = work / "pipeline.py"
        pipeline_file.write_text(
            "from bench_components import chain\n"
            f"pipeline = chain({args.nodes}, {str(work / 'root')!r})\n")
        compile_kubeflow(pipeline, work / "warmup.yaml")  # imports kfp once, outside the timing
        compile_airflow(pipeline, str(work / "warmup_dag.py"))
        rows = [
            ("ir", _median_seconds(lambda: compile_pipeline(pipeline).save(
                str(work / "p.json")), args.repeats), "ir", "p.json"),
            ("kubeflow", _median_seconds(lambda: compile_kubeflow(
                compile_pipeline(pipeline), work / "p.yaml"), args.repeats), "kubeflow",
             "p.yaml"),
            ("airflow", _median_seconds(lambda: compile_airflow(
                compile_pipeline(pipeline), str(work / "dag.py")), args.repeats), "airflow",
             "dag.py"),
        ]
        print(f"{args.nodes}-node chain; medians of {args.repeats}")
        print(f"{'target':<10} {'warm compile':>13} {'fresh `conveyor compile`':>25} "
              f"{'output size':>12}")
        for name, warm, target, out in rows:
            fresh = statistics.median(_fresh_process(
                [sys.executable, "-m", "conveyor", "compile", str(pipeline_file), "--target",
                 target, "-o", str(work / f"cli_{out}")], env) for _ in range(3))
            size = (work / f"cli_{out}").stat().st_size
            print(f"{name:<10} {warm * 1000:>11.1f}ms {fresh:>24.2f}s {size / 1024:>10.0f}KB")
        parses = []
        for _ in range(args.repeats):
            probe = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(work / "cli_dag.py")],
                                   check=True, env=env, capture_output=True, text=True)
            parses.append(json.loads(probe.stdout.strip().splitlines()[-1]))
        print(f"airflow DAG file, fresh process: executing the file "
              f"{statistics.median(p['file'] for p in parses):.2f}s after importing Airflow "
              f"({statistics.median(p['airflow'] for p in parses):.2f}s); DAGs "
              f"{parses[0]['dags']}; heavy modules imported: {parses[0]['heavy'] or 'none'}")
        print("targets: compile < 1 s, DAG parse < 1 s")


if __name__ == "__main__":
    main()
