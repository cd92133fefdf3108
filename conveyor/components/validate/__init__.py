"""StatisticsGen, SchemaGen, ImportSchemaGen and ExampleValidator on TFDV.

Importing this package loads only the declarations (no TFDV, TensorFlow or Beam); the executors
(:mod:`.statistics`, :mod:`.schema`, :mod:`.anomalies`) import those when a node runs, and
:mod:`.views` renders the artifacts for the CLI and notebooks.
"""
from conveyor.components.validate.component import (
    COMPARATORS,
    ExampleValidator,
    ImportSchemaGen,
    SchemaGen,
    StatisticsGen,
)

__all__ = ["COMPARATORS", "ExampleValidator", "ImportSchemaGen", "SchemaGen", "StatisticsGen"]
