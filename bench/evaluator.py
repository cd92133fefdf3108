"""The Evaluator's cost: reading examples, predicting, TFMA, per size and with or without a
baseline.

The Palmer penguins' eval rows are repeated to each size (default 1,000 and 10,000
examples), written as gzipped tf.Example TFRecords; a scikit-learn pipeline (imputation,
one-hot, logistic regression) and a small Keras model (a SavedModel taking serialized
examples) are trained once on the train rows. For each size, in this one process (after the
imports, which are reported apart), it times:

* ``read``: :func:`~conveyor.components.evaluator.executor.read_examples` (decode, re-encode);
* ``predict sklearn`` / ``predict keras``: one model's predictions for every example;
* ``evaluate``: the whole executor (read, predict, TFMA on the DirectRunner, report) with the
  sklearn model as candidate, slices overall / island / island x sex, the default metrics
  (example count, accuracy, per-class AUC, precision, recall, calibration, confusion matrix)
  and an accuracy threshold; ``evaluate+baseline``: the same with the Keras model as baseline
  (two models' metrics and change thresholds).

Figures are medians over ``--repeats``; peak RSS is the process's, at the end. No target is
set: it shows where the time goes (TFMA's Beam pipeline dominates) and how it grows with rows.

    .venv/bin/python bench/evaluator.py [--rows 1000 10000] [--repeats 1]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


def _timed(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print one row per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    import pyarrow as pa
    import tensorflow_model_analysis  # noqa: F401  (imported here to time it apart)
    from data_helpers import PENGUINS_CSV, read_csv, split_rows, write_examples
    from model_fixtures import write_keras_model, write_sklearn_model

    from conveyor.artifacts import Examples, Model, ModelBlessing, ModelEvaluation
    from conveyor.components.evaluator import eval_config
    from conveyor.components.evaluator.executor import evaluate, read_examples
    from conveyor.dsl.context import ExecutionContext
    from conveyor.models.predict import load_predictor
    print(f"imports: {time.perf_counter() - start:.1f} s")

    root = tempfile.mkdtemp(prefix="bench-evaluator-")
    splits = split_rows(read_csv(PENGUINS_CSV))
    sklearn_dir, keras_dir = os.path.join(root, "sklearn"), os.path.join(root, "keras")
    for path in (sklearn_dir, keras_dir):
        os.makedirs(path)
    write_sklearn_model(sklearn_dir, splits["train"].to_pandas())
    write_keras_model(keras_dir, splits["train"])
    sklearn, keras = load_predictor(sklearn_dir), load_predictor(keras_dir)
    config = eval_config("species", slices=[[], ["island"], ["island", "sex"]],
                         thresholds={"accuracy": {"lower_bound": 0.9,
                                                  "change_relative": -0.05}})
    counter = iter(range(1_000_000))

    def run(examples: Examples, baseline: str | None) -> None:
        out = os.path.join(root, f"out{next(counter)}")
        evaluation, blessing = ModelEvaluation(f"{out}/e"), ModelBlessing(f"{out}/b")
        os.makedirs(evaluation.uri)
        os.makedirs(blessing.uri)
        context = ExecutionContext(pipeline="bench", run_id="r", node_id="evaluator",
                                   execution_id=0, pipeline_root=root, scratch_dir=out)
        evaluate(examples=examples, model=Model(sklearn_dir), evaluation=evaluation,
                 blessing=blessing, eval_config=config, example_splits=["eval"],
                 context=context, baseline_model=Model(baseline) if baseline else None)

    def measure(rows: int) -> list[float]:
        eval_rows = splits["eval"]
        table = pa.concat_tables([eval_rows] * (-(-rows // eval_rows.num_rows))).slice(0, rows)
        examples = Examples(os.path.join(root, f"examples{rows}"))
        os.makedirs(examples.uri)
        examples.split_names = write_examples(examples.uri, {"eval": table})
        serialized, _ = read_examples(examples, ["eval"])
        return [_timed(lambda: read_examples(examples, ["eval"]), args.repeats),
                _timed(lambda: sklearn.predict(serialized), args.repeats),
                _timed(lambda: keras.predict(serialized), args.repeats),
                _timed(lambda: run(examples, None), args.repeats),
                _timed(lambda: run(examples, keras_dir), args.repeats)]

    print(f"{'rows':>8}  {'read s':>7}  {'predict sklearn s':>17}  {'predict keras s':>15}"
          f"  {'evaluate s':>10}  {'evaluate+baseline s':>19}")
    for rows in args.rows:
        read, predict_sklearn, predict_keras, alone, paired = measure(rows)
        print(f"{rows:>8}  {read:>7.2f}  {predict_sklearn:>17.2f}  {predict_keras:>15.2f}"
              f"  {alone:>10.2f}  {paired:>19.2f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
