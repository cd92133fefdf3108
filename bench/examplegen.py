"""CsvExampleGen throughput and peak memory, next to the floor of reading the same CSV.

For each size (default 100k and 1M rows of :mod:`synthetic`'s 12 columns) and each mode, a fresh
child process runs one cold conversion and reports its wall time and its peak RSS
(``ru_maxrss``, which counts C++ allocations that ``tracemalloc`` cannot see):

* ``floor``: pyarrow reads the CSV and computes count, nulls, min, max, mean per column;
* ``executor``: the CsvExampleGen executor, called directly, with its default runner (the
  DirectRunner in memory, one thread per CPU);
* ``serial``: the same on one thread (``--direct_running_mode=in_memory``);
* ``pipeline``: a one-node pipeline through the LocalRunner on a fresh root (adds fingerprinting
  the input and output for the cache, and the metadata store).

Times exclude importing the libraries (reported apart: Beam, tfx-bsl and TensorFlow, which the
TFRecord writer needs; peak memory includes them, TensorFlow alone is about 440 MB). Targets:
ExampleGen within 8x of the floor, peak memory under 2 GB, time linear in rows.

``--breakdown`` then times the steps of a work item one after another on one thread, as the
executor runs them on each CSV chunk: CSV parse (pyarrow), split (row hashes and ``take``),
list conversion (flat columns to Arrow lists), tfx-bsl encode, TF write (TFRecordWriter, gzip).

    .venv/bin/python bench/examplegen.py [--rows 100000 1000000] [--repeats 3] [--breakdown]
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
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ["CSV parse", "split", "list conversion", "tfx-bsl encode", "TF write"]


def breakdown(data_dir: str, work: str) -> dict[str, float]:
    """Seconds per step of converting every chunk of ``data_dir`` on one thread."""
    import numpy as np
    import pyarrow as pa
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    from conveyor.components.examplegen import csv_source, encoding, spans, splits, writing

    times = dict.fromkeys(STAGES, 0.0)
    files = spans.list_files(data_dir, spans.Pattern.compile("*.csv"))
    encoder = RecordBatchToExamplesEncoder()
    for index, chunk in enumerate(csv_source.plan(files, ",", "utf-8")):
        began = time.perf_counter()
        read = csv_source.read_chunk(chunk, ",", "utf-8", None, False, None)
        times["CSV parse"] += time.perf_counter() - began
        shards = [writing.TFRecordShard(os.path.join(work, f"{split}-{index}.gz"))
                  for split in ("train", "eval")]
        for batch in csv_source.iter_batches(read):
            began = time.perf_counter()
            assignment = splits.assign(splits.hash_rows(batch, None, chunk.path), [2, 1])
            parts = [batch.take(pa.array(np.flatnonzero(assignment == k))) for k in (0, 1)]
            times["split"] += time.perf_counter() - began
            for shard, part in zip(shards, parts, strict=True):
                began = time.perf_counter()
                lists = encoding.to_list_batch(part)
                times["list conversion"] += time.perf_counter() - began
                began = time.perf_counter()
                records = encoder.encode(lists)
                times["tfx-bsl encode"] += time.perf_counter() - began
                began = time.perf_counter()
                shard.write(records)
                times["TF write"] += time.perf_counter() - began
        began = time.perf_counter()
        for shard in shards:
            shard.close()
        times["TF write"] += time.perf_counter() - began
    return times


def child(mode: str, data_dir: str, work: str) -> dict[str, Any]:
    """Run one measurement in this (fresh) process."""
    import resource

    began = time.perf_counter()
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from conveyor import LocalRunner, Pipeline
    from conveyor.artifacts import Examples
    from conveyor.components.examplegen import CsvExampleGen, executor
    from conveyor.dsl.context import ExecutionContext

    if mode != "floor":
        # Import time is reported apart.
        import apache_beam  # noqa: F401
        import tensorflow  # noqa: F401
        import tfx_bsl.coders.example_coder  # noqa: F401
    imported = time.perf_counter() - began
    began = time.perf_counter()
    stages: dict[str, float] = {}
    if mode == "breakdown":
        stages = breakdown(data_dir, work)
    elif mode == "floor":
        table = pacsv.read_csv(os.path.join(data_dir, "data.csv"))
        for column in table.columns:
            column.null_count  # noqa: B018
            len(column)
            if column.type in ("int64", "double"):
                pc.min_max(column)
                pc.mean(column)
    elif mode in ("executor", "serial"):
        out = os.path.join(work, "out")
        os.makedirs(out)
        values = {n: p.default for n, p in CsvExampleGen.SPEC.parameters.items()
                  if not p.required}
        beam_args = ["--direct_running_mode=in_memory"] if mode == "serial" else []
        context = ExecutionContext("bench", "run", "gen", 0, work, work, beam_args=beam_args)
        executor.run_csv(examples=Examples(out), **{**values, "input_base": data_dir},
                         context=context)
    else:
        result = LocalRunner().run(Pipeline("bench", [CsvExampleGen(input_base=data_dir)],
                                            root=os.path.join(work, "root")))
        assert result.succeeded
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "import_s": imported, "peak_mb": peak_mb, "stages": stages}


def measure(mode: str, data_dir: str) -> dict[str, Any]:
    """One measurement in a child process."""
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONWARNINGS="ignore:You are using a Python version:FutureWarning")
        proc = subprocess.run([sys.executable, __file__, "--child", mode, data_dir, work],
                              capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result


def print_breakdown(rows: int, runs: list[dict[str, Any]], floor: float | None) -> None:
    """Median seconds of each step over ``runs``."""
    medians = {stage: statistics.median(r["stages"][stage] for r in runs) for stage in STAGES}
    total = sum(medians.values())
    print(f"{rows:>9} breakdown, one thread (median of {len(runs)}):")
    for stage, seconds in medians.items():
        ratio = f", {seconds / floor:.1f}x floor" if floor else ""
        print(f"{'':>12}{stage:<16} {seconds:>6.2f} s  {100 * seconds / total:>3.0f} %{ratio}")
    print(f"{'':>12}{'sum':<16} {total:>6.2f} s", flush=True)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+",
                        default=["floor", "executor", "serial", "pipeline"])
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the steps of a work item (one thread)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sys.path.insert(0, HERE)
    import synthetic

    print(f"{'rows':>9} {'mode':<9} {'seconds':>8} {'rows/s':>10} {'x floor':>8} "
          f"{'peak MB':>8} {'import s':>9}")
    per_mode: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as data_root:
        for rows in args.rows:
            data_dir = os.path.join(data_root, str(rows))
            os.makedirs(data_dir)
            synthetic.write_csv(os.path.join(data_dir, "data.csv"), rows)
            floor = None
            for mode in args.modes + (["breakdown"] if args.breakdown else []):
                runs = [measure(mode, data_dir) for _ in range(args.repeats)]
                if mode == "breakdown":
                    print_breakdown(rows, runs, floor)
                    continue
                seconds = statistics.median(r["seconds"] for r in runs)
                peak = max(r["peak_mb"] for r in runs)
                imported = statistics.median(r["import_s"] for r in runs)
                floor = seconds if mode == "floor" else floor
                ratio = f"{seconds / floor:8.1f}" if floor else f"{'-':>8}"
                per_mode.setdefault(mode, {})[rows] = seconds
                print(f"{rows:>9} {mode:<9} {seconds:>8.2f} {rows / seconds:>10,.0f} {ratio} "
                      f"{peak:>8.0f} {imported:>9.2f}", flush=True)
    if len(args.rows) > 1:
        small, large = min(args.rows), max(args.rows)
        for mode, times in per_mode.items():
            print(f"{mode}: {large // small}x the rows took "
                  f"{times[large] / times[small]:.1f}x the time")
    print("targets: executor and pipeline within 8x of the floor, peak under 2048 MB, "
          "time linear in rows")


if __name__ == "__main__":
    main()
