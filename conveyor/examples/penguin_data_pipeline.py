"""The data half of the penguin pipeline, on the real Palmer penguins CSV:

    CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator

Run it with ``conveyor run conveyor/examples/penguin_data_pipeline.py``; point it at other data
with ``--param data_dir=/path/to/csv/dir``. SchemaGen infers the schema from every split, so the
validator stops the run when a split breaks what the data as a whole looks like (an empty split,
a column of the wrong type); to hold new data to an agreed schema, use ImportSchemaGen with a
curated schema file instead.
"""
from __future__ import annotations

import importlib.util
import os

from conveyor import Pipeline, RuntimeParameter
from conveyor.components.examplegen import CsvExampleGen
from conveyor.components.validate import ExampleValidator, SchemaGen, StatisticsGen


def penguins_dir() -> str:
    """The directory of the ``palmerpenguins`` package's CSV files (found without importing the
    package, which would import pandas)."""
    spec = importlib.util.find_spec("palmerpenguins")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the palmerpenguins package is not installed; "
                                  "pip install palmerpenguins")
    return os.path.join(next(iter(spec.submodule_search_locations)), "data")


data_dir = RuntimeParameter("data_dir", str, default=penguins_dir(),
                            description="directory holding penguins.csv")

example_gen = CsvExampleGen(input_base=data_dir, pattern="penguins.csv")
statistics_gen = StatisticsGen(examples=example_gen.outputs.examples)
schema_gen = SchemaGen(statistics=statistics_gen.outputs.statistics)
example_validator = ExampleValidator(statistics=statistics_gen.outputs.statistics,
                                     schema=schema_gen.outputs.schema)

pipeline = Pipeline("penguin_data",
                    [example_gen, statistics_gen, schema_gen, example_validator], root="runs")
