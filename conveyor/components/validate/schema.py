"""Executors of SchemaGen (infer a schema from statistics) and ImportSchemaGen (a curated one)."""
from __future__ import annotations

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from conveyor.artifacts import ExampleStatistics, Schema
from conveyor.data import layout
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError


def infer(statistics: ExampleStatistics, schema: Schema, infer_feature_shape: bool,
          exclude_splits: list[str], context: ExecutionContext) -> None:
    """Executor of SchemaGen: ``tfdv.infer_schema`` on the first split kept, then
    ``tfdv.update_schema`` with each further one (so a category seen only in a later split is
    in the domain, and a feature missing from one split is not required)."""
    splits = layout.select_splits(statistics, exclude_splits, "statistics")
    inferred: schema_pb2.Schema | None = None
    for split in splits:
        stats = layout.read_statistics(statistics.uri, split)
        if inferred is None:
            inferred = tfdv.infer_schema(stats, infer_feature_shape=infer_feature_shape)
        else:
            inferred = tfdv.update_schema(inferred, stats)
    assert inferred is not None  # select_splits returns at least one split
    if not inferred.feature:
        raise DataError(f"statistics at {statistics.uri} (splits {', '.join(splits)}) describe "
                        f"no feature, so no schema can be inferred; is the data empty?")
    layout.write_schema(schema.uri, inferred)
    context.logger.info("inferred %d features from %s", len(inferred.feature),
                        ", ".join(splits))


def import_schema(schema_file: str, schema: Schema, context: ExecutionContext) -> None:
    """Executor of ImportSchemaGen: check that ``schema_file`` parses as a Schema, and publish
    it (re-written in canonical text format)."""
    curated = layout.read_schema_file(schema_file)
    if not curated.feature and not curated.sparse_feature:
        raise DataError(f"{schema_file}: the schema declares no feature; is it the right file?")
    layout.write_schema(schema.uri, curated)
    context.logger.info("imported %d features from %s", len(curated.feature), schema_file)
