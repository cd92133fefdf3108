"""Data components against the floor: CsvExampleGen and StatisticsGen time and peak memory.

For each size (default 100k and 1M rows of :mod:`synthetic`'s deterministic 12 columns: ints,
floats, categoricals of 5 / ~100 / ~10,000 values, missing values, a 0/1 label) and each mode,
a fresh child process runs one cold measurement and reports its wall time and its peak RSS
(``ru_maxrss``, which counts C++ allocations that ``tracemalloc`` cannot see):

* ``floor``: pyarrow reads the CSV and computes count, nulls, min and max of every column and
  the mean of every numeric one: the least any data component must do;
* ``examplegen``: the CsvExampleGen executor, called directly, with its defaults (gzipped
  TFRecords of tf.Example; the DirectRunner in memory, one thread per CPU);
* ``stats-tfrecord`` / ``stats-parquet``: the StatisticsGen executor, with its default engine
  (in process here), on the Examples CsvExampleGen wrote from the same CSV as TFRecords
  (its default) or as Parquet (``output_format="parquet"``); it also writes ``stats.html``.
  TFRecords are decoded by TensorFlow's parser, as the Examples carry ExampleGen's
  ``feature_kinds`` (:mod:`conveyor.data.tf_parsing`);
* not by default, ``stats-tfrecord-tfxbsl``: the same without ``feature_kinds``, so tfx-bsl's
  ``ExamplesToRecordBatchDecoder`` decodes (as for Examples ExampleGen did not encode);
* ``stats-beam``: StatisticsGen with ``engine="beam"`` (``tfdv.GenerateStatistics`` on the
  DirectRunner, as TFX runs it) on the TFRecord Examples, only up to ``--beam-rows`` (it is slow);
* not by default, ``examplegen-serial``: CsvExampleGen on one thread
  (``--direct_running_mode=in_memory``), and ``examplegen-pipeline``: a one-node pipeline
  through the LocalRunner on a fresh root (adds fingerprinting the input and output for the
  cache, and the metadata store).

The Examples the statistics modes read are written for each size once, by a separate child,
before any timing, so a statistics child's time and peak memory are its own. Every child checks
its row count (examples written, examples described) against the CSV's.

Times exclude importing the libraries, reported apart ("import s"); peak memory includes them
(TensorFlow alone is about 440 MB), and "import MB" is the peak right after the imports, before
the work. Figures are medians over ``--repeats`` children (peak: the largest). Targets, judged
at the largest size: StatisticsGen (default engine) within 3x of the floor, ExampleGen within
8x, peak memory under 2 GB in every mode; and time linear in rows: from the smallest to the
largest size, time may grow at most 1.25x as much as the rows do.

``--breakdown`` then times the steps of a CsvExampleGen work item one after another on one
thread, as the executor runs them on each CSV chunk: CSV parse (pyarrow), split (row hashes and
``take``), list conversion (flat columns to Arrow lists), tfx-bsl encode, TF write
(TFRecordWriter, gzip); and the steps of StatisticsGen on the TFRecord Examples, each on its
own: reading the records (tf.data: inflate and frame), reading and parsing them with
TensorFlow's parser into Arrow, reading and decoding them with tfx-bsl, and TFDV's generators
on the decoded batches. Every row also shows the child's CPU seconds ("cpu s", all threads),
steadier than wall time when other work shares the machine.

    .venv/bin/python bench/data.py [--rows 100000 1000000] [--repeats 3] [--modes ...]
                                   [--beam-rows 100000] [--breakdown]
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ["CSV parse", "split", "list conversion", "tfx-bsl encode", "TF write"]
MODES = ["floor", "examplegen", "stats-tfrecord", "stats-parquet", "stats-beam",
         "examplegen-serial", "examplegen-pipeline", "stats-tfrecord-tfxbsl"]
DEFAULT_MODES = MODES[:5]
#: Modes that read the Examples written by the ``prepare`` child, and the payload each reads.
STATS_PAYLOADS = {"stats-tfrecord": "tfrecord", "stats-parquet": "parquet",
                  "stats-beam": "tfrecord", "stats-tfrecord-tfxbsl": "tfrecord"}
STATS_STAGES = ["TFRecord read", "read + TF parse", "read + tfx-bsl", "TFDV generators"]
PREPARED = "prepared.json"

#: Targets: most times the floor at the largest size, and the most peak memory.
STATS_TARGET = 3.0
EXAMPLEGEN_TARGET = 8.0
PEAK_TARGET_MB = 2048.0
#: Linear: time may grow at most this much faster than the rows.
LINEAR_SLACK = 1.25

#: What a measurement does once its libraries are imported: returns facts to report.
Work = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Figures:
    """One mode at one size, over its repeats."""

    seconds: float  # median
    x_floor: float | None  # seconds over the floor's at the same size
    peak_mb: float  # largest
    import_s: float  # median
    import_mb: float  # largest


def preload(*modules: str) -> None:
    """Import ``modules`` now, so that their import time is not counted as work."""
    import importlib

    for module in modules:
        importlib.import_module(module)


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (``ru_maxrss`` is in KB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def breakdown_work(data_dir: str, work_dir: str) -> Work:
    """Import what the steps use; the work times them (:func:`breakdown`)."""
    preload("tensorflow", "tfx_bsl.coders.example_coder")
    return lambda: {"stages": breakdown(data_dir, work_dir)}


def stats_breakdown(data_dir: str) -> dict[str, float]:
    """Seconds of each step of StatisticsGen on the prepared TFRecord Examples, each measured
    on its own over every split (see the module docstring)."""
    import tensorflow as tf

    from conveyor.components.validate import statistics as statistics_executor
    from conveyor.data.examples import find_split_files, read_batches
    from conveyor.data.tf_parsing import usable_kinds

    with open(os.path.join(data_dir, PREPARED), encoding="utf-8") as f:
        prepared = json.load(f)["tfrecord"]
    kinds = usable_kinds({"feature_kinds": prepared["feature_kinds"]})
    assert kinds, "the prepared Examples carry no usable feature_kinds"
    splits = [find_split_files(prepared["uri"], s) for s in prepared["split_names"]]
    times = dict.fromkeys(STATS_STAGES, 0.0)
    began = time.perf_counter()
    for files in splits:
        for _ in tf.data.TFRecordDataset(list(files.files), compression_type=files.compression,
                                         buffer_size=4 << 20).batch(20_000):
            pass
    times["TFRecord read"] = time.perf_counter() - began
    batches = []
    began = time.perf_counter()
    for files in splits:
        batches.extend(read_batches(files, kinds=kinds))
    times["read + TF parse"] = time.perf_counter() - began
    began = time.perf_counter()
    for files in splits:
        for _ in read_batches(files):
            pass
    times["read + tfx-bsl"] = time.perf_counter() - began
    began = time.perf_counter()
    statistics_executor.compute_in_process(batches)
    times["TFDV generators"] = time.perf_counter() - began
    return times


def floor_work(data_dir: str) -> Work:
    """Import pyarrow; the work reads the CSV and computes the simple aggregates."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    def work() -> dict[str, Any]:
        table = pacsv.read_csv(os.path.join(data_dir, "data.csv"))
        aggregates: dict[str, tuple[Any, ...]] = {}
        for name, column in zip(table.column_names, table.columns, strict=True):
            low_high = pc.min_max(column)
            mean = pc.mean(column).as_py() if pa.types.is_integer(column.type) \
                or pa.types.is_floating(column.type) else None
            aggregates[name] = (len(column), column.null_count, low_high["min"].as_py(),
                                low_high["max"].as_py(), mean)
        return {"rows": table.num_rows}

    return work


def examplegen_work(mode: str, data_dir: str, work_dir: str) -> Work:
    """Import ExampleGen's libraries; the work runs CsvExampleGen on ``data_dir``."""
    # The TFRecord writer needs TensorFlow and the encoder tfx-bsl: imports, reported apart.
    preload("apache_beam", "tensorflow", "tfx_bsl.coders.example_coder")

    from conveyor import LocalRunner, Pipeline
    from conveyor.artifacts import Examples
    from conveyor.components.examplegen import CsvExampleGen, executor
    from conveyor.dsl.context import ExecutionContext

    def work() -> dict[str, Any]:
        if mode == "examplegen-pipeline":
            result = LocalRunner().run(Pipeline("bench", [CsvExampleGen(input_base=data_dir)],
                                                root=os.path.join(work_dir, "root")))
            assert result.succeeded
            return {}
        examples = Examples(os.path.join(work_dir, "out"))
        os.makedirs(examples.uri)
        beam_args = ["--direct_running_mode=in_memory"] if mode == "examplegen-serial" else []
        context = ExecutionContext("bench", "run", "gen", 0, work_dir, work_dir,
                                   beam_args=beam_args)
        executor.run_csv(examples=examples, **{**examplegen_defaults(), "input_base": data_dir},
                         context=context)
        return {"rows": sum(json.loads(str(examples.custom_properties["row_counts"])).values())}

    return work


def examplegen_defaults() -> dict[str, Any]:
    """CsvExampleGen's parameter defaults (every parameter but the required ``input_base``)."""
    from conveyor.components.examplegen import CsvExampleGen

    return {name: parameter.default for name, parameter in CsvExampleGen.SPEC.parameters.items()
            if not parameter.required}


def statistics_work(mode: str, data_dir: str, work_dir: str) -> Work:
    """Import StatisticsGen's libraries; the work runs its executor on the prepared Examples."""
    preload("pyarrow.parquet", "tensorflow", "tensorflow_data_validation",
            "tfx_bsl.coders.example_coder")

    from conveyor.artifacts import Examples, ExampleStatistics
    from conveyor.components.validate import statistics as statistics_executor
    from conveyor.data import layout
    from conveyor.dsl.context import ExecutionContext

    if mode == "stats-beam":
        preload("apache_beam", "tfx_bsl.public.tfxio")

    with open(os.path.join(data_dir, PREPARED), encoding="utf-8") as f:
        prepared = json.load(f)[STATS_PAYLOADS[mode]]

    def work() -> dict[str, Any]:
        examples = Examples(prepared["uri"])
        examples.split_names = prepared["split_names"]
        examples.span = 0
        if mode != "stats-tfrecord-tfxbsl" and prepared.get("feature_kinds"):
            examples.custom_properties["feature_kinds"] = prepared["feature_kinds"]
        output = ExampleStatistics(os.path.join(work_dir, "statistics"))
        os.makedirs(output.uri)
        context = ExecutionContext("bench", "run", "stats", 0, work_dir, work_dir)
        statistics_executor.run(examples, output, [],
                                "beam" if mode == "stats-beam" else "auto", context)
        engine = output.custom_properties["engine"]
        expected = "beam" if mode == "stats-beam" else "in_process"
        assert engine == expected, f"{mode} ran on engine {engine!r}, not {expected!r}"
        described = sum(layout.read_statistics(output.uri, split).datasets[0].num_examples
                        for split in prepared["split_names"])
        return {"rows": described}

    return work


def prepare(data_dir: str) -> dict[str, Any]:
    """Write ``data_dir``'s CSV as TFRecord and as Parquet Examples (CsvExampleGen's executor)
    and record where, for the statistics modes; returns seconds per payload."""
    from conveyor.artifacts import Examples
    from conveyor.components.examplegen import executor
    from conveyor.dsl.context import ExecutionContext

    prepared: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    for payload in ("tfrecord", "parquet"):
        began = time.perf_counter()
        examples = Examples(os.path.join(data_dir, f"examples-{payload}"))
        os.makedirs(examples.uri)
        work_dir = os.path.join(data_dir, f"work-{payload}")
        context = ExecutionContext("bench", "prepare", "gen", 0, work_dir, work_dir)
        executor.run_csv(examples=examples, context=context,
                         **{**examplegen_defaults(), "input_base": os.path.join(data_dir, "csv"),
                            "output_format": payload})
        prepared[payload] = {
            "uri": examples.uri, "split_names": list(examples.split_names),
            "feature_kinds": examples.custom_properties.get("feature_kinds"),
            "row_counts": json.loads(str(examples.custom_properties["row_counts"]))}
        seconds[payload] = time.perf_counter() - began
    with open(os.path.join(data_dir, PREPARED), "w", encoding="utf-8") as f:
        json.dump(prepared, f)
    return {"seconds": seconds,
            "rows": {p: sum(info["row_counts"].values()) for p, info in prepared.items()}}


def child(mode: str, data_dir: str, work_dir: str) -> dict[str, Any]:
    """Run one measurement of ``mode`` in this (fresh) process.

    ``data_dir`` holds ``csv/data.csv`` and, once prepared, the Examples; ``work_dir`` is this
    measurement's scratch space.
    """
    if mode == "prepare":
        return prepare(data_dir)
    csv_dir = os.path.join(data_dir, "csv")
    began = time.perf_counter()
    work: Work
    if mode == "floor":
        work = floor_work(csv_dir)
    elif mode == "breakdown":
        work = breakdown_work(csv_dir, work_dir)
    elif mode == "stats-breakdown":
        preload("tensorflow", "tensorflow_data_validation", "tfx_bsl.coders.example_coder")
        work = lambda: {"stages": stats_breakdown(data_dir)}  # noqa: E731
    elif mode.startswith("examplegen"):
        work = examplegen_work(mode, csv_dir, work_dir)
    else:
        work = statistics_work(mode, data_dir, work_dir)
    imported = time.perf_counter() - began
    import_mb = peak_mb()
    began, cpu = time.perf_counter(), time.process_time()
    facts = work()
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "cpu_s": time.process_time() - cpu, "import_s": imported,
            "import_mb": import_mb, "peak_mb": peak_mb(), **facts}


def measure(mode: str, data_dir: str, script: str = __file__) -> dict[str, Any]:
    """Run ``script --child mode data_dir work_dir`` (this script's ``child``, or another bench
    script's) in a fresh process; its result, the last line it printed as JSON."""
    with tempfile.TemporaryDirectory() as work_dir:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONWARNINGS="ignore:You are using a Python version:FutureWarning")
        proc = subprocess.run([sys.executable, script, "--child", mode, data_dir, work_dir],
                              capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result


def print_breakdown(rows: int, title: str, stages: list[str], runs: list[dict[str, Any]],
                    floor: float | None, total: bool = True) -> None:
    """Median seconds of each step over ``runs`` (and their sum when the steps add up)."""
    medians = {stage: statistics.median(r["stages"][stage] for r in runs) for stage in stages}
    whole = sum(medians.values())
    print(f"{rows:>9} {title} (median of {len(runs)}):")
    for stage, seconds in medians.items():
        ratio = f", {seconds / floor:.1f}x floor" if floor else ""
        share = f"  {100 * seconds / whole:>3.0f} %" if total else ""
        print(f"{'':>12}{stage:<16} {seconds:>6.2f} s{share}{ratio}")
    if total:
        print(f"{'':>12}{'sum':<16} {whole:>6.2f} s", flush=True)


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def targets_line(results: dict[str, dict[int, Figures]], sizes: list[int]) -> str:
    """The targets, each with its figure and PASS or MISS."""
    large, small = max(sizes), min(sizes)
    parts = []
    for label, prefix, target in (("StatisticsGen", "stats-", STATS_TARGET),
                                  ("ExampleGen", "examplegen", EXAMPLEGEN_TARGET)):
        figures = []
        for mode, by_rows in results.items():
            ratio = by_rows[large].x_floor if large in by_rows else None
            # The target is for the defaults; Beam and tfx-bsl are there for comparison.
            if mode.startswith(prefix) and mode not in ("stats-beam", "stats-tfrecord-tfxbsl") \
                    and ratio is not None:
                figures.append(f"{mode} {ratio:.1f}x {verdict(ratio <= target)}")
        if figures:
            parts.append(f"{label} <= {target:g}x floor at {large:,} rows: {', '.join(figures)}")
    if results:
        peak, mode, rows = max((f.peak_mb, mode, rows) for mode, by_rows in results.items()
                               for rows, f in by_rows.items())
        parts.append(f"peak < {PEAK_TARGET_MB:.0f} MB: {peak:.0f} MB ({mode}, {rows:,} rows) "
                     f"{verdict(peak < PEAK_TARGET_MB)}")
    if large > small:
        limit = LINEAR_SLACK * large / small
        figures = []
        for mode, by_rows in results.items():
            if small in by_rows and large in by_rows:
                growth = by_rows[large].seconds / by_rows[small].seconds
                figures.append(f"{mode} {growth:.1f}x {verdict(growth <= limit)}")
        parts.append(f"time linear in rows ({large // small}x the rows in at most {limit:g}x "
                     f"the time): {', '.join(figures)}")
    return "targets: " + "; ".join(parts)


def main() -> None:
    """Write the data, measure every mode at every size, print the table and the targets."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=DEFAULT_MODES)
    parser.add_argument("--beam-rows", type=int, default=100_000,
                        help="largest size stats-beam runs at (default 100000)")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the steps of a CsvExampleGen work item (one thread)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sys.path.insert(0, HERE)
    import synthetic

    sizes = sorted(args.rows)
    modes = sorted(dict.fromkeys(args.modes), key=MODES.index)  # the floor first
    print(f"{'rows':>9} {'mode':<21} {'seconds':>8} {'cpu s':>6} {'rows/s':>10} {'x floor':>8} "
          f"{'peak MB':>8} {'import s':>9} {'import MB':>10}", flush=True)
    results: dict[str, dict[int, Figures]] = {}
    with tempfile.TemporaryDirectory() as data_root:
        for rows in sizes:
            data_dir = os.path.join(data_root, str(rows))
            os.makedirs(os.path.join(data_dir, "csv"))
            synthetic.write_csv(os.path.join(data_dir, "csv", "data.csv"), rows)
            if any(mode in STATS_PAYLOADS for mode in modes):
                prepared = measure("prepare", data_dir)
                assert prepared["rows"] == {"tfrecord": rows, "parquet": rows}, prepared
            floor: float | None = None
            for mode in modes:
                if mode == "stats-beam" and rows > args.beam_rows:
                    continue
                runs = [measure(mode, data_dir) for _ in range(args.repeats)]
                for run in runs:
                    assert run.get("rows", rows) == rows, (mode, run)
                seconds = statistics.median(r["seconds"] for r in runs)
                floor = seconds if mode == "floor" else floor
                figures = Figures(seconds=seconds, x_floor=seconds / floor if floor else None,
                                  peak_mb=max(r["peak_mb"] for r in runs),
                                  import_s=statistics.median(r["import_s"] for r in runs),
                                  import_mb=max(r["import_mb"] for r in runs))
                results.setdefault(mode, {})[rows] = figures
                ratio = f"{'-':>8}" if figures.x_floor is None else f"{figures.x_floor:8.1f}"
                cpu = statistics.median(r["cpu_s"] for r in runs)
                print(f"{rows:>9} {mode:<21} {seconds:>8.2f} {cpu:>6.2f} {rows / seconds:>10,.0f} "
                      f"{ratio} "
                      f"{figures.peak_mb:>8.0f} {figures.import_s:>9.2f} "
                      f"{figures.import_mb:>10.0f}", flush=True)
            if args.breakdown:
                print_breakdown(rows, "examplegen breakdown, one thread", STAGES,
                                [measure("breakdown", data_dir) for _ in range(args.repeats)],
                                floor)
                if any(mode in STATS_PAYLOADS for mode in modes):
                    print_breakdown(rows, "statistics breakdown, each step alone",
                                    STATS_STAGES, [measure("stats-breakdown", data_dir)
                                                   for _ in range(args.repeats)], floor,
                                    total=False)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for mode, by_rows in results.items():
            if small in by_rows and large in by_rows:
                print(f"{mode}: {large // small}x the rows took "
                      f"{by_rows[large].seconds / by_rows[small].seconds:.1f}x the time")
    print(targets_line(results, sizes))


if __name__ == "__main__":
    main()
