"""Model components: time and peak memory, each measurement in a fresh child process.

Modes (``--modes``; each a function in :data:`MODES` that imports its libraries and returns the
work to time):

* ``transform``: the Transform executor, called directly, on :mod:`synthetic`'s rows (default
  1M) written as Examples by the CsvExampleGen executor (gzipped tf.Example TFRecords, split
  2:1 into train and eval) before any timing. It analyses ``train`` and transforms both splits
  with ``bench/transform_preprocessing.py`` (eight z-scores, a decile bucketization, three
  vocabularies of 5 / ~100 / ~10,000 values) on the default runner (Beam's in-process
  FnApiRunner), and checks that every row was written;
* ``transform-threads``: the same on the in-process runner's ``multi_threading`` mode, 2 workers.

Times exclude importing the libraries (reported apart, "import s"); peak memory is the child's
``ru_maxrss`` (it counts C++ allocations) and includes the libraries; "import MB" is the peak
right after the imports. Figures are medians over ``--repeats`` children (peak: the largest).

* ``trainer``: the penguin Trainer executor (``conveyor/examples/penguin_keras.py``, 200 steps,
  export and signature check included) on the Transform output of the penguins, which the
  child makes first (its time is in "import s"). It does not read the synthetic rows, so
  ``--modes trainer --rows 1000`` keeps the preparation short.

To add a mode, write ``def my_work(data_dir, work_dir) -> Work``
and add it to :data:`MODES`; ``data_dir`` holds ``csv/data.csv`` and, after ``prepare``, the
Examples described in ``prepared.json``.

    .venv/bin/python bench/model.py [--rows 1000000] [--repeats 1] [--modes transform]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402  (a sibling script)
from data import examplegen_defaults, peak_mb, preload  # noqa: E402

PREPARED = "prepared.json"
#: What a measurement does once its libraries are imported: returns facts to report.
Work = Callable[[], dict[str, Any]]

#: Columns of :mod:`synthetic` with missing values (no fixed shape in the schema).
_SOMETIMES_MISSING = {"income", "visits", "country"}
_KINDS = {"age": "INT", "income": "FLOAT", "score": "FLOAT", "height_cm": "FLOAT",
          "visits": "INT", "tenure_days": "INT", "color": "BYTES", "country": "BYTES",
          "product": "BYTES", "ratio": "FLOAT", "clicks": "INT", "label": "INT"}


def write_schema(uri: str) -> None:
    """The schema of :mod:`synthetic`'s columns, as SchemaGen would infer it."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    from conveyor.data import layout

    schema = schema_pb2.Schema()
    for name, kind in _KINDS.items():
        feature = schema.feature.add(name=name, type=schema_pb2.FeatureType.Value(kind))
        if name not in _SOMETIMES_MISSING:
            feature.shape.dim.add(size=1)
            feature.presence.min_fraction = 1.0
    layout.write_schema(uri, schema)


def prepare(data_dir: str) -> dict[str, Any]:
    """Write ``data_dir/csv``'s rows as Examples (CsvExampleGen's executor) and a schema."""
    from conveyor.artifacts import Examples
    from conveyor.components.examplegen import executor
    from conveyor.dsl.context import ExecutionContext

    began = time.perf_counter()
    examples = Examples(os.path.join(data_dir, "examples"))
    os.makedirs(examples.uri)
    work_dir = os.path.join(data_dir, "work-prepare")
    context = ExecutionContext("bench", "prepare", "gen", 0, work_dir, work_dir)
    executor.run_csv(examples=examples, context=context,
                     **{**examplegen_defaults(), "input_base": os.path.join(data_dir, "csv")})
    write_schema(os.path.join(data_dir, "schema"))
    prepared = {"uri": examples.uri, "split_names": list(examples.split_names),
                "row_counts": json.loads(str(examples.custom_properties["row_counts"])),
                "schema": os.path.join(data_dir, "schema")}
    with open(os.path.join(data_dir, PREPARED), "w", encoding="utf-8") as f:
        json.dump(prepared, f)
    return {"seconds": time.perf_counter() - began,
            "rows": sum(prepared["row_counts"].values())}


def cpu_seconds() -> float:
    """User and system CPU time of this process so far (every thread)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def transform_work(data_dir: str, work_dir: str, beam_args: list[str] | None = None) -> Work:
    """Import Transform's libraries; the work runs its executor on the prepared Examples with
    ``beam_args`` (default: none, Beam's in-process FnApiRunner)."""
    preload("apache_beam", "tensorflow", "tensorflow_transform", "tensorflow_transform.beam",
            "tfx_bsl.public.tfxio")

    from conveyor.artifacts import Examples, Schema, TransformCache, TransformGraph
    from conveyor.components.transform import executor
    from conveyor.data.examples import find_split_files
    from conveyor.dsl.context import ExecutionContext

    with open(os.path.join(data_dir, PREPARED), encoding="utf-8") as f:
        prepared = json.load(f)

    def work() -> dict[str, Any]:
        import tensorflow as tf

        examples = Examples(prepared["uri"])
        examples.split_names = prepared["split_names"]
        examples.span, examples.version = 0, 0
        outputs: dict[str, Any] = {
            "transform_graph": TransformGraph(os.path.join(work_dir, "graph")),
            "transformed_examples": Examples(os.path.join(work_dir, "transformed")),
            "updated_analyzer_cache": TransformCache(os.path.join(work_dir, "cache"))}
        context = ExecutionContext("bench", "run", "transform", 0, work_dir,
                                   os.path.join(work_dir, "scratch"),
                                   beam_args=list(beam_args or []))
        began, cpu = time.perf_counter(), cpu_seconds()
        executor.run(examples=[examples], schema=Schema(prepared["schema"]),
                     module_file=os.path.join(HERE, "transform_preprocessing.py"),
                     preprocessing_fn=None, splits_config=None, custom_config={},
                     context=context, **outputs)
        seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
        written = 0
        for split in prepared["split_names"]:
            files = find_split_files(outputs["transformed_examples"].uri, split)
            written += sum(len(batch) for path in files.files for batch in
                           tf.data.TFRecordDataset(path, compression_type="GZIP")
                           .batch(65_536).as_numpy_iterator())
        # Counting the rows is not timed. CPU seconds (every thread of this process) say more
        # than wall time on a machine others are using.
        return {"rows": written, "seconds": seconds, "cpu_s": round(cpu, 1)}

    return work


def trainer_work(data_dir: str, work_dir: str) -> Work:
    """Run ExampleGen -> StatisticsGen -> SchemaGen -> Transform on the penguins (untimed, in
    the "import s" column); the work is the Trainer executor with ``penguin_keras`` for
    ``TRAINER_STEPS`` steps, export and checks included. ``data_dir`` is not used."""
    preload("tensorflow", "tensorflow_transform", "keras", "apache_beam")
    import importlib.util

    from conveyor import LocalRunner, Pipeline
    from conveyor.artifacts import Model, ModelRun, Schema, TransformGraph
    from conveyor.components.examplegen import CsvExampleGen
    from conveyor.components.trainer import executor
    from conveyor.components.transform.component import Transform
    from conveyor.components.validate import SchemaGen, StatisticsGen
    from conveyor.dsl.context import ExecutionContext
    from conveyor.examples.penguin_data_pipeline import penguins_dir

    def module(name: str) -> str:
        spec = importlib.util.find_spec(f"conveyor.examples.{name}")
        assert spec is not None and spec.origin is not None
        return spec.origin

    gen = CsvExampleGen(input_base=penguins_dir(), pattern="penguins.csv")
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    transform = Transform(examples=gen.outputs.examples, schema=schema.outputs.schema,
                          module_file=module("penguin_preprocessing"))
    result = LocalRunner().run(Pipeline(
        "bench_penguin", [gen, stats, schema, transform], root=os.path.join(work_dir, "root")))
    outputs = result["transform"].outputs

    def work() -> dict[str, Any]:
        model, model_run = (Model(os.path.join(work_dir, "model")),
                            ModelRun(os.path.join(work_dir, "model_run")))
        os.makedirs(model.uri)
        os.makedirs(model_run.uri)
        context = ExecutionContext("bench", "run", "trainer", 0, work_dir,
                                   os.path.join(work_dir, "scratch"))
        executor.run(examples=outputs["transformed_examples"][0].to_artifact(),  # type: ignore
                     transform_graph=TransformGraph(outputs["transform_graph"][0].uri),
                     schema=Schema(result["schema_gen"].outputs["schema"][0].uri),
                     module_file=module("penguin_keras"), train_steps=TRAINER_STEPS,
                     model=model, model_run=model_run, context=context)
        return {"steps": TRAINER_STEPS,
                "val_accuracy": round(float(model.custom_properties["val_accuracy"]), 3)}

    return work


#: Training steps of the penguin Trainer in the ``trainer`` mode (penguin_keras's default).
TRAINER_STEPS = 200

#: Mode -> the function that imports its libraries and returns its work.
MODES: dict[str, Callable[[str, str], Work]] = {
    "transform": transform_work,
    "transform-threads": lambda data, work: transform_work(
        data, work, ["--direct_running_mode=multi_threading", "--direct_num_workers=2"]),
    "trainer": trainer_work,
}
#: Modes run when ``--modes`` is not given.
DEFAULT_MODES = ["transform", "trainer"]
#: Keys of a measurement printed in the table's own columns; others are printed after it.
_COLUMNS = {"seconds", "import_s", "import_mb", "peak_mb", "rows"}


def child(mode: str, data_dir: str, work_dir: str) -> dict[str, Any]:
    """Run one measurement of ``mode`` in this (fresh) process."""
    if mode == "prepare":
        return prepare(data_dir)
    began = time.perf_counter()
    work = MODES[mode](data_dir, work_dir)
    imported = time.perf_counter() - began
    import_mb = peak_mb()
    began = time.perf_counter()
    facts = work()  # may report its own "seconds", leaving out checks of its output
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "import_s": imported, "import_mb": import_mb,
            "peak_mb": peak_mb(), **facts}


def measure(mode: str, data_dir: str) -> dict[str, Any]:
    """Run this script's ``child(mode, data_dir, ...)`` in a fresh process; its result."""
    return data.measure(mode, data_dir, __file__)


def main() -> None:
    """Write the data, measure every mode at every size, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=DEFAULT_MODES)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    import synthetic

    print(f"{'rows':>9} {'mode':<17} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} "
          f"{'import s':>9} {'import MB':>10}", flush=True)
    with tempfile.TemporaryDirectory() as data_root:
        for rows in sorted(args.rows):
            data_dir = os.path.join(data_root, str(rows))
            os.makedirs(os.path.join(data_dir, "csv"))
            synthetic.write_csv(os.path.join(data_dir, "csv", "data.csv"), rows)
            prepared = measure("prepare", data_dir)
            assert prepared["rows"] == rows, prepared
            print(f"{rows:>9} {'(examples)':<17} {prepared['seconds']:>8.2f}", flush=True)
            for mode in args.modes:
                runs = [measure(mode, data_dir) for _ in range(args.repeats)]
                for run in runs:
                    assert run.get("rows", rows) == rows, (mode, run)
                seconds = statistics.median(r["seconds"] for r in runs)
                rate = f"{rows / seconds:>9,.0f}" if "rows" in runs[0] else f"{'-':>9}"
                extra = " ".join(f"{k}={v}" for k, v in runs[0].items() if k not in _COLUMNS)
                print(f"{rows:>9} {mode:<17} {seconds:>8.2f} {rate} "
                      f"{max(r['peak_mb'] for r in runs):>8.0f} "
                      f"{statistics.median(r['import_s'] for r in runs):>9.2f} "
                      f"{max(r['import_mb'] for r in runs):>10.0f} {extra}", flush=True)


if __name__ == "__main__":
    main()
