"""What a resolver node costs as a pipeline's history grows.

Runs a trainer -> evaluator pipeline whose evaluator takes the latest blessed model as its
baseline (every third model is blessed) many times on one SQLite store, and prints the median
time of the resolver node (query and recording) after each block of runs, next to the median
time of a no-op executor node of the same runs for scale. The resolver reads blessings newest
first, a page at a time, and stops once they are older than the best model found, so it should
cost about what any node costs however long the history; this shows whether it does. Measured
here (2 cores): 5.8 / 8.6 / 9.3 ms after 50 / 100 / 150 runs, the no-op node 6.9 / 8.7 / 9.1 ms
(both grow with the SQLite store, not with what the resolver reads).

    .venv/bin/python bench/resolvers.py [--runs 150] [--block 50]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from conveyor import LatestBlessedModel, LocalRunner, Pipeline, RuntimeParameter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from resolver_components import judge, train


def build(root: str) -> Pipeline:
    """trainer(quality) -> evaluator with the latest blessed model as baseline."""
    trainer = train(quality=RuntimeParameter("quality", int, default=1), id="trainer")
    latest = LatestBlessedModel(model_from=trainer, blessing_from="evaluator")
    evaluator = judge(model=trainer.outputs.model, baseline=latest.outputs.model,
                      id="evaluator")
    return Pipeline("bench-resolvers", [trainer, latest, evaluator], root=root)


def main() -> None:
    """Print the resolver's median time per block of runs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--block", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        pipeline = build(root)
        runner = LocalRunner(max_workers=1)
        resolver: list[float] = []
        trainer: list[float] = []
        print(f"{'runs so far':>12} {'resolver median ms':>19} {'trainer median ms':>18}")
        for i in range(args.runs):
            # Distinct qualities, so the trainer always runs; a quality of 3 or more is blessed.
            quality = 1_000 + i if i % 3 == 0 else -i
            result = runner.run(pipeline, parameters={"quality": quality})
            resolver.append(result["latest_blessed_model"].duration_s)
            trainer.append(result["trainer"].duration_s)
            if (i + 1) % args.block == 0:
                print(f"{i + 1:>12} {statistics.median(resolver) * 1000:>19.1f} "
                      f"{statistics.median(trainer) * 1000:>18.1f}")
                resolver.clear()
                trainer.clear()
        print(f"store: {os.path.join(root, 'metadata.sqlite')} (removed)")


if __name__ == "__main__":
    main()
