"""A small pipeline of function components, runnable with no ML library: ``make run`` runs it.

It generates a deterministic table, summarises it and fits a line to it (these two run at the
same time), then evaluates the fit on the held-out split::

    generate ──┬── summarize
               └── fit ── evaluate

Run it with ``conveyor run conveyor/examples/hello_pipeline.py --param rows=5000``; run it again
and every node is reused from cache.
"""
from __future__ import annotations

import csv
import json
import os
import random

from conveyor import ExecutionContext, In, Out, Pipeline, RuntimeParameter, component
from conveyor.artifacts import Artifact


class Table(Artifact):
    """A small CSV table per split.

    Layout::

        {uri}/Split-{name}/data.csv           header ``x,y``, one row per example
    """

    TYPE_NAME = "Table"
    BASE_TYPE = "DATASET"
    PROPERTIES = {"rows": int, "split_names": list}


class Summary(Artifact):
    """Column summaries. Layout: ``{uri}/summary.json`` (split -> column -> count/mean/min/max)."""

    TYPE_NAME = "Summary"


class LineFit(Artifact):
    """A fitted line ``y = slope * x + intercept``. Layout: ``{uri}/model.json``."""

    TYPE_NAME = "LineFit"
    BASE_TYPE = "MODEL"


class FitEvaluation(Artifact):
    """Error of a fit on held-out rows. Layout: ``{uri}/metrics.json``."""

    TYPE_NAME = "FitEvaluation"
    BASE_TYPE = "METRICS"


def _read(table: Artifact, split: str) -> list[tuple[float, float]]:
    with open(os.path.join(table.uri, f"Split-{split}", "data.csv"), encoding="utf-8") as f:
        return [(float(r["x"]), float(r["y"])) for r in csv.DictReader(f)]


@component
def generate(table: Out[Table], rows: int = 1000, seed: int = 7) -> None:
    """Write ``rows`` points near y = 3x + 2, 80% to 'train' and 20% to 'eval'."""
    rng = random.Random(seed)
    splits: dict[str, list[tuple[float, float]]] = {"train": [], "eval": []}
    for i in range(rows):
        x = rng.uniform(0, 10)
        splits["train" if i % 5 else "eval"].append((x, 3 * x + 2 + rng.gauss(0, 1)))
    for split, points in splits.items():
        os.makedirs(os.path.join(table.uri, f"Split-{split}"))
        with open(os.path.join(table.uri, f"Split-{split}", "data.csv"), "w",
                  encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["x", "y"])
            writer.writerows(points)
    table.rows = rows
    table.split_names = list(splits)


@component
def summarize(table: In[Table], summary: Out[Summary]) -> None:
    """Count, mean, min and max of each column of each split."""
    result = {}
    for split in table.split_names:
        points = _read(table, split)
        result[split] = {
            column: {"count": len(values), "mean": sum(values) / len(values),
                     "min": min(values), "max": max(values)}
            for column, values in (("x", [p[0] for p in points]), ("y", [p[1] for p in points]))
        }
    with open(os.path.join(summary.uri, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)


@component
def fit(table: In[Table], model: Out[LineFit], context: ExecutionContext,
        learning_rate: float = 0.01, epochs: int = 200) -> None:
    """Fit a line to the train split by gradient descent."""
    points = _read(table, "train")
    slope = intercept = 0.0
    for epoch in range(epochs):
        grad_s = sum((slope * x + intercept - y) * x for x, y in points) / len(points)
        grad_i = sum(slope * x + intercept - y for x, y in points) / len(points)
        slope -= learning_rate * grad_s
        intercept -= learning_rate * grad_i
        if epoch % 50 == 0:
            context.logger.info("epoch %d: slope=%.3f intercept=%.3f", epoch, slope, intercept)
    with open(os.path.join(model.uri, "model.json"), "w", encoding="utf-8") as f:
        json.dump({"slope": slope, "intercept": intercept}, f)


@component
def evaluate(table: In[Table], model: In[LineFit], evaluation: Out[FitEvaluation]) -> None:
    """Mean squared error of the fit on the eval split."""
    with open(os.path.join(model.uri, "model.json"), encoding="utf-8") as f:
        line = json.load(f)
    points = _read(table, "eval")
    mse = sum((line["slope"] * x + line["intercept"] - y) ** 2 for x, y in points) / len(points)
    with open(os.path.join(evaluation.uri, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump({"mse": mse, "rows": len(points)}, f)
    print(f"eval mse = {mse:.4f} on {len(points)} rows")


rows = RuntimeParameter("rows", int, default=1000, description="rows to generate")
learning_rate = RuntimeParameter("learning_rate", float, default=0.01)

gen = generate(rows=rows)
stats = summarize(table=gen.outputs.table)
trainer = fit(table=gen.outputs.table, learning_rate=learning_rate)
evaluator = evaluate(table=gen.outputs.table, model=trainer.outputs.model)

pipeline = Pipeline("hello", [gen, stats, trainer, evaluator], root="runs")
