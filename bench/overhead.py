"""Per-node orchestration overhead of the local runner on SQLite ML Metadata.

Runs pipelines of 50 no-op function components, in a chain and side by side, first on a fresh
root (cold: every node executes) and then again (fully cached), and prints milliseconds per node.
Targets: under 30 ms per node cold, under 5 ms per node cached.

    .venv/bin/python bench/overhead.py [--nodes 50] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from bench_components import chain, parallel

from conveyor import LocalRunner


def measure(build: object, n: int, repeats: int) -> tuple[float, float]:
    """Median milliseconds per node, cold and cached, over ``repeats`` fresh roots."""
    cold, cached = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as root:
            pipeline = build(n, root)  # type: ignore[operator]
            runner = LocalRunner()
            began = time.perf_counter()
            first = runner.run(pipeline)
            cold.append((time.perf_counter() - began) * 1000 / n)
            began = time.perf_counter()
            second = runner.run(pipeline)
            cached.append((time.perf_counter() - began) * 1000 / n)
            assert first.succeeded and all(r.state == "CACHED" for r in second.nodes)
    return statistics.median(cold), statistics.median(cached)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'shape':<10} {'nodes':>5} {'cold ms/node':>13} {'cached ms/node':>15}")
    for name, build in (("chain", chain), ("parallel", parallel)):
        cold, cached = measure(build, args.nodes, args.repeats)
        print(f"{name:<10} {args.nodes:>5} {cold:>13.1f} {cached:>15.1f}")
    print("targets: cold < 30 ms/node, cached < 5 ms/node (median of "
          f"{args.repeats} runs, each on a fresh SQLite store)")


if __name__ == "__main__":
    main()
