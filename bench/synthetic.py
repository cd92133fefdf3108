"""A deterministic synthetic table for benchmarks and tests: ``write_csv(path, rows, seed=0)``.

Twelve columns shaped like a tabular classification data set:

==============  =======  ==================================================================
column          type     values
==============  =======  ==================================================================
age             int      18..90
income          float    log-normal; about 5 % missing
score           float    normal(0, 1)
height_cm       float    normal(170, 10), one decimal
visits          int      Poisson(3); about 2 % missing
tenure_days     int      0..3650
color           string   5 values
country         string   about 100 values ("c000".."c099"); about 1 % missing
product         string   about 10,000 values ("p00000".."p09999"), Zipf-like
ratio           float    uniform 0..1
clicks          int      geometric
label           int      0 / 1, correlated with score and age
==============  =======  ==================================================================

The same ``rows`` and ``seed`` give byte-identical files on every machine: rows are generated
in blocks of :data:`BLOCK_ROWS`, each from its own ``numpy`` generator seeded by
``(seed, block index)``, so memory stays bounded for any size.

    .venv/bin/python bench/synthetic.py data.csv --rows 1000000
"""
from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

#: Rows generated (and held in memory) at a time.
BLOCK_ROWS = 100_000

COLORS = ["red", "green", "blue", "black", "white"]
COLUMNS = ["age", "income", "score", "height_cm", "visits", "tenure_days", "color", "country",
           "product", "ratio", "clicks", "label"]


def _with_missing(values: NDArray[Any], rng: np.random.Generator, fraction: float) -> pa.Array:
    return pa.array(values, mask=rng.random(len(values)) < fraction)


def make_block(rows: int, seed: int = 0, block: int = 0) -> pa.RecordBatch:
    """``rows`` rows of the table, drawn from the generator seeded by ``(seed, block)``."""
    rng = np.random.default_rng([seed, block])
    age = rng.integers(18, 91, rows)
    score = rng.normal(0.0, 1.0, rows)
    product_ids = np.minimum(rng.zipf(1.3, rows) - 1, 9_999)
    logits = 1.2 * score + 0.03 * (age - 50)
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logits))).astype(np.int64)
    arrays = [
        pa.array(age),
        _with_missing(np.round(rng.lognormal(10.5, 0.6, rows), 2), rng, 0.05),
        pa.array(np.round(score, 6)),
        pa.array(np.round(rng.normal(170.0, 10.0, rows), 1)),
        _with_missing(rng.poisson(3.0, rows), rng, 0.02),
        pa.array(rng.integers(0, 3651, rows)),
        pa.array(np.array(COLORS)[rng.integers(0, len(COLORS), rows)]),
        _with_missing(np.char.add("c", np.char.zfill(rng.integers(0, 100, rows).astype(str), 3)),
                      rng, 0.01),
        pa.array(np.char.add("p", np.char.zfill(product_ids.astype(str), 5))),
        pa.array(np.round(rng.random(rows), 6)),
        pa.array(rng.geometric(0.3, rows) - 1),
        pa.array(label),
    ]
    return pa.RecordBatch.from_arrays(arrays, COLUMNS)


def write_csv(path: str | os.PathLike[str], rows: int, seed: int = 0) -> str:
    """Write ``rows`` rows (plus a header line) to the CSV file ``path``; returns the path.

    Missing values are empty fields. The file is deterministic in ``rows`` and ``seed``.
    """
    path = os.fspath(path)
    first = make_block(min(rows, BLOCK_ROWS) or 1, seed, 0)
    with pacsv.CSVWriter(path, first.schema) as writer:
        written, block = 0, 0
        while written < rows:
            size = min(BLOCK_ROWS, rows - written)
            batch = first if block == 0 and size == first.num_rows else make_block(size, seed,
                                                                                   block)
            writer.write_batch(batch)
            written += size
            block += 1
    return path


def main() -> None:
    """Command line: write a synthetic CSV."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_csv(args.path, args.rows, args.seed)
    print(f"wrote {args.rows} rows to {args.path} ({os.path.getsize(args.path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
