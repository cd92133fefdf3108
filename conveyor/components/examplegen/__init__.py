"""ExampleGen: reads CSV, Parquet, TFRecord or SQL sources into Examples.

Importing this package loads only the declarations (no TensorFlow, Beam, pyarrow or SQLAlchemy);
the executors import those when a node runs.
"""
from conveyor.components.examplegen.component import (
    CsvExampleGen,
    ImportExampleGen,
    ParquetExampleGen,
    QueryExampleGen,
)

__all__ = ["CsvExampleGen", "ImportExampleGen", "ParquetExampleGen", "QueryExampleGen"]
