"""TensorFlow's parser (conveyor.data.tf_parsing) against tfx-bsl's decoder, on real records.

Each test decodes the same TFRecord files both ways, through ``read_batches`` with and without
the feature kinds ExampleGen recorded, and compares the record batches with
``RecordBatch.equals`` (names, types, values and nulls), then the TFDV statistics of both.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import tensorflow as tf
from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

from conveyor.artifacts import Examples
from conveyor.components.examplegen import CsvExampleGen, encoding, executor
from conveyor.components.validate import statistics as statistics_executor
from conveyor.data import tf_parsing
from conveyor.data.examples import find_split_files, read_batches
from conveyor.errors import DataError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import synthetic  # noqa: E402
from data_helpers import PENGUINS_CSV  # noqa: E402

#: Small batches, so that files span several batches and some batch misses a feature entirely.
BATCH = 64


def csv_examples(input_dir: Path, out: Path) -> Examples:
    """CsvExampleGen's executor on ``input_dir`` (its defaults: gzipped TFRecords)."""
    params = {name: p.default for name, p in CsvExampleGen.SPEC.parameters.items()
              if not p.required}
    out.mkdir(parents=True)
    examples = Examples(str(out))
    executor.run_csv(examples=examples, **{**params, "input_base": str(input_dir)})
    return examples


def both_ways(examples: Examples, split: str, kinds: dict[str, str] | None,
              caplog: pytest.LogCaptureFixture) -> tuple[list[pa.RecordBatch],
                                                         list[pa.RecordBatch], list[str]]:
    """Batches of ``split`` from TensorFlow's parser (with ``kinds``) and from tfx-bsl, and
    the fallback messages logged on the way."""
    files = find_split_files(examples.uri, split)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="conveyor.data"):
        fast = list(read_batches(files, BATCH, kinds=kinds))
    fallbacks = [r.getMessage() for r in caplog.records if "decoding with tfx-bsl" in
                 r.getMessage()]
    return fast, list(read_batches(files, BATCH)), fallbacks


def assert_same_batches(fast: list[pa.RecordBatch], slow: list[pa.RecordBatch]) -> None:
    assert [b.num_rows for b in fast] == [b.num_rows for b in slow]
    for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
        assert a.schema == b.schema, f"batch {index}: {a.schema} != {b.schema}"
        assert a.equals(b), f"batch {index} differs"


def write_records(path: Path, table: pa.Table) -> Path:
    """``table`` as a gzipped TFRecord file of tf.Examples encoded by tfx-bsl (as ExampleGen
    encodes: a null is a feature with no value kind)."""
    batch = encoding.to_list_batch(table.combine_chunks().to_batches()[0])
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for record in RecordBatchToExamplesEncoder().encode(batch):
            writer.write(record)
    return path


def one_file_examples(root: Path, table: pa.Table) -> Examples:
    split = root / "Split-train"
    split.mkdir(parents=True)
    write_records(split / "data_tfrecord-00000-of-00001.gz", table)
    examples = Examples(str(root))
    examples.split_names = ["train"]
    return examples


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    folder = tmp_path_factory.mktemp("penguins_csv")
    shutil.copy(PENGUINS_CSV, folder / "penguins.csv")
    return csv_examples(folder, tmp_path_factory.mktemp("penguins") / "examples")


@pytest.fixture(scope="module")
def synthetic_examples(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    """3,000 synthetic rows (ints, floats, text of 5 to ~10,000 values, missing values), and a
    ``late`` column missing in its first 200 rows, so whole batches have no value of it."""
    folder = tmp_path_factory.mktemp("synthetic_csv")
    table = pa.Table.from_batches([synthetic.make_block(3_000, seed=5)])
    late = pa.array([None] * 200 + [f"v{i % 7}" for i in range(2_800)])
    table = table.append_column("late", late)
    with open(folder / "data.csv", "wb") as f:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, f)
    return csv_examples(folder, tmp_path_factory.mktemp("synthetic") / "examples")


def test_example_gen_records_the_flat_feature_kinds(penguins: Examples) -> None:
    kinds = json.loads(str(penguins.custom_properties[tf_parsing.KINDS_PROPERTY]))
    assert kinds == {"bill_depth_mm": "float", "bill_length_mm": "float",
                     "body_mass_g": "int", "flipper_length_mm": "int", "island": "bytes",
                     "sex": "bytes", "species": "bytes", "year": "int"}
    assert tf_parsing.usable_kinds(penguins.custom_properties) == kinds


@pytest.mark.parametrize("split", ["train", "eval"])
def test_penguins_decode_to_the_same_batches(penguins: Examples, split: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    kinds = tf_parsing.usable_kinds(penguins.custom_properties)
    fast, slow, fallbacks = both_ways(penguins, split, kinds, caplog)
    assert fallbacks == []
    assert_same_batches(fast, slow)
    assert sum(b.num_rows for b in fast) == \
        json.loads(str(penguins.custom_properties["row_counts"]))[split]
    assert any(b.column(b.schema.get_field_index("sex")).null_count for b in fast)


def test_synthetic_rows_with_missing_values_decode_alike(
        synthetic_examples: Examples, caplog: pytest.LogCaptureFixture) -> None:
    kinds = tf_parsing.usable_kinds(synthetic_examples.custom_properties)
    assert kinds is not None and kinds["late"] == "bytes" and kinds["income"] == "float"
    fast, slow, fallbacks = both_ways(synthetic_examples, "train", kinds, caplog)
    assert fallbacks == []
    assert_same_batches(fast, slow)
    late = [b.column(b.schema.get_field_index("late")).type for b in fast]
    # No value of a feature in a batch: a null-typed column, as tfx-bsl's decoder gives.
    assert late[0] == pa.null() and late[-1] == pa.large_list(pa.large_binary())
    assert sum(b.column(b.schema.get_field_index("income")).null_count for b in fast) > 0


def test_statistics_of_both_decoders_are_equal(synthetic_examples: Examples) -> None:
    files = find_split_files(synthetic_examples.uri, "eval")
    kinds = tf_parsing.usable_kinds(synthetic_examples.custom_properties)
    fast = statistics_executor.compute_in_process(read_batches(files, BATCH, kinds=kinds))
    slow = statistics_executor.compute_in_process(read_batches(files, BATCH))
    assert fast.datasets[0].num_examples > 0
    assert fast == slow


def test_executor_uses_the_recorded_kinds(synthetic_examples: Examples,
                                          tmp_path: Path) -> None:
    """The StatisticsGen executor gives the same statistics file with and without the kinds."""
    from conveyor.data import layout
    from conveyor.dsl.context import ExecutionContext

    def run(examples: Examples, name: str) -> Any:
        out = tmp_path / name
        out.mkdir()
        from conveyor.artifacts import ExampleStatistics

        statistics = ExampleStatistics(str(out))
        context = ExecutionContext("t", "r", "stats", 0, str(tmp_path), str(tmp_path))
        statistics_executor.run(examples, statistics, [], "in_process", context)
        return [layout.read_statistics(statistics.uri, s) for s in examples.split_names]

    without = Examples(synthetic_examples.uri)
    without.split_names = synthetic_examples.split_names
    assert tf_parsing.usable_kinds(without.custom_properties) is None
    assert run(synthetic_examples, "fast") == run(without, "slow")


def test_a_value_type_other_than_recorded_falls_back_to_tfx_bsl(
        penguins: Examples, caplog: pytest.LogCaptureFixture) -> None:
    kinds = dict(tf_parsing.usable_kinds(penguins.custom_properties) or {})
    kinds["body_mass_g"] = "float"  # the records hold int64 values
    fast, slow, fallbacks = both_ways(penguins, "train", kinds, caplog)
    assert len(fallbacks) == 1 and "from record 0 on" in fallbacks[0]
    assert_same_batches(fast, slow)


def test_a_multi_valued_row_hands_the_rest_of_the_file_to_tfx_bsl(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = 3 * BATCH + 10
    values: list[list[int] | None] = [[i] if i % 9 else None for i in range(rows)]
    values[2 * BATCH + 5] = [1, 2]  # in the third batch
    table = pa.table({"n": pa.array(values, pa.list_(pa.int64())),
                      "s": pa.array([f"t{i}" for i in range(rows)])})
    examples = one_file_examples(tmp_path / "examples", table)
    fast, slow, fallbacks = both_ways(examples, "train", {"n": "int", "s": "bytes"}, caplog)
    assert len(fallbacks) == 1 and f"from record {2 * BATCH} on" in fallbacks[0]
    assert_same_batches(fast, slow)
    assert fast[2].column(0).to_pylist()[5] == [1, 2]


def test_a_damaged_file_is_still_a_data_error(penguins: Examples, tmp_path: Path) -> None:
    source = find_split_files(penguins.uri, "train").files[0]
    split = tmp_path / "examples" / "Split-train"
    split.mkdir(parents=True)
    data = Path(source).read_bytes()
    (split / "data_tfrecord-00000-of-00001.gz").write_bytes(data[:len(data) // 2])
    kinds = tf_parsing.usable_kinds(penguins.custom_properties)
    files = find_split_files(str(tmp_path / "examples"), "train")
    with pytest.raises(DataError, match=r"cannot read TFRecord file .*data_tfrecord-00000"):
        list(read_batches(files, BATCH, kinds=kinds))


@pytest.mark.parametrize("recorded", [
    None, "not json", json.dumps({}), json.dumps({"a": "list<int>", "b": "int"}),
    json.dumps({"a": "null"}), json.dumps(["int"]),
])
def test_only_flat_kinds_take_the_fast_path(recorded: str | None) -> None:
    properties = {} if recorded is None else {tf_parsing.KINDS_PROPERTY: recorded}
    assert tf_parsing.usable_kinds(properties) is None


def test_imported_records_record_no_kinds(
        penguins: Examples, tmp_path: Path) -> None:
    """ImportExampleGen passes records through as they were: it promises no kinds."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(find_split_files(penguins.uri, "train").files[0], folder / "a.tfrecord.gz")
    params = {name: p.default for name, p in executor_params("ImportExampleGen").items()}
    out = tmp_path / "imported"
    out.mkdir()
    imported = Examples(str(out))
    executor.run_tfrecord(examples=imported, **{**params, "input_base": str(folder),
                                                "partition_feature": "island"})
    assert tf_parsing.KINDS_PROPERTY not in imported.custom_properties
    assert os.listdir(out / "Split-train")


def executor_params(component: str) -> dict[str, Any]:
    from conveyor.components import examplegen

    spec = getattr(examplegen, component).SPEC
    return {name: p for name, p in spec.parameters.items() if not p.required}


def test_a_pipeline_decodes_example_gen_output_with_tensorflow(root: Path,
                                                               tmp_path: Path) -> None:
    """The kinds survive the metadata store: StatisticsGen after CsvExampleGen in a pipeline
    reads with TensorFlow's parser (tfx-bsl's decoder without the kinds)."""
    from conveyor import LocalRunner, Pipeline
    from conveyor.components.validate import StatisticsGen

    folder = tmp_path / "csv"
    folder.mkdir()
    shutil.copy(PENGUINS_CSV, folder / "penguins.csv")
    gen = CsvExampleGen(input_base=str(folder))
    stats = StatisticsGen(examples=gen.outputs.examples)
    result = LocalRunner().run(Pipeline("decoding", [gen, stats], root=str(root)))
    assert result["statistics_gen"].outputs["statistics"][0] \
        .custom_properties["decoder"] == "tensorflow"
    files = find_split_files(result["csv_example_gen"].outputs["examples"][0].uri, "train")
    assert statistics_executor.decoder_of(files, None) == "tfx_bsl"
