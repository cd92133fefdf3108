"""ExampleGen on real data: the penguins CSV, generated spans, Parquet, TFRecords and SQLite.

Executors are called directly where a test is about the data, and through the LocalRunner where
it is about wiring, caching and keeping earlier artifacts when a run fails.
"""
from __future__ import annotations

import collections
import gzip
import json
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.testing import util as beam_testing
from import_check import modules_imported_by
from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

from conveyor import LocalRunner, Pipeline
from conveyor.artifacts import Examples
from conveyor.components.examplegen import (
    CsvExampleGen,
    ImportExampleGen,
    ParquetExampleGen,
    QueryExampleGen,
    convert,
    csv_source,
    encoding,
    executor,
)
from conveyor.errors import DataError, DefinitionError, RunFailedError
from conveyor.metadata import MetadataStore
from conveyor.metadata.records import CACHED, COMPLETE

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import synthetic  # noqa: E402

PENGUINS = Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "palmerpenguins" / \
    "data" / "penguins.csv"
EXECUTORS: dict[type, Callable[..., None]] = {
    CsvExampleGen: executor.run_csv, ParquetExampleGen: executor.run_parquet,
    ImportExampleGen: executor.run_tfrecord, QueryExampleGen: executor.run_query,
}


# ---- helpers ----------------------------------------------------------------------------------

def generate(component: Any, out: Path, **params: Any) -> Examples:
    """Run a component's executor directly (parameters default as the component declares)."""
    values = {name: p.default for name, p in component.SPEC.parameters.items()
              if not p.required}
    values.update(params)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    examples = Examples(str(out))
    EXECUTORS[component](examples=examples, **values)
    return examples


def read_records(path: str) -> list[bytes]:
    """Records of a gzipped TFRecord file, read by TensorFlow (which checks every CRC)."""
    return [r.numpy() for r in tf.data.TFRecordDataset(path, compression_type="GZIP")]


def write_tfrecord(path: Path, records: list[bytes], compression: str = "") -> Path:
    """A TFRecord file of ``records`` written by TensorFlow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type=compression)) \
            as writer:
        for record in records:
            writer.write(record)
    return path


def split_files(examples: Examples, split: str) -> list[str]:
    folder = examples.split_uri(split)
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def split_records(examples: Examples, split: str) -> list[bytes]:
    return [r for path in split_files(examples, split) for r in read_records(path)]


def canonical(records: list[bytes]) -> list[bytes]:
    """Records re-serialized with sorted feature maps. tfx-bsl's encoder writes a row's
    features in protobuf map order, which varies from run to run, so equal rows can differ
    in bytes."""
    return [tf.train.Example.FromString(r).SerializeToString(deterministic=True)
            for r in records]


def decoded_rows(records: list[bytes]) -> list[tuple[Any, ...]]:
    """Rows of serialized tf.Examples as sorted tuples of (feature, value) pairs."""
    batch = ExamplesToRecordBatchDecoder().DecodeBatch(records)
    names = batch.schema.names
    rows = []
    for row in batch.to_pylist():
        rows.append(tuple(sorted((n, _scalar(row[n])) for n in names)))
    return rows


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    item = value[0]
    return item.decode() if isinstance(item, bytes) else round(item, 3) \
        if isinstance(item, float) else item


def csv_rows(path: Path) -> list[tuple[Any, ...]]:
    """Rows of a CSV file as :func:`decoded_rows` gives them (floats rounded as float32)."""
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    names = table.schema.names
    out = []
    for row in table.to_pylist():
        out.append(tuple(sorted(
            (n, None if row[n] is None else round(float(pa.scalar(row[n], pa.float32()).as_py()),
                                                  3) if isinstance(row[n], float) else row[n])
            for n in names)))
    return out


def all_rows(examples: Examples) -> list[tuple[Any, ...]]:
    return [r for split in examples.split_names for r in decoded_rows(split_records(examples,
                                                                                    split))]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture
def penguins(tmp_path: Path) -> Path:
    """A directory holding the penguins CSV."""
    folder = tmp_path / "penguins"
    folder.mkdir()
    shutil.copy(PENGUINS, folder / "penguins.csv")
    return folder


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "synthetic"
    folder.mkdir()
    synthetic.write_csv(folder / "data.csv", 6_000, seed=3)
    return folder


# ---- layout, content, properties ---------------------------------------------------------------

def test_pipeline_writes_tfx_layout_and_properties(root: Path, penguins: Path,
                                                   open_store: MetadataStore) -> None:
    gen = CsvExampleGen(input_base=str(penguins))
    result = LocalRunner().run(Pipeline("penguin", [gen], root=str(root)))
    record = result["csv_example_gen"].outputs["examples"][0]
    artifact = open_store.get_artifact(record.id).to_artifact()
    assert isinstance(artifact, Examples) and artifact.state == "LIVE"
    assert (artifact.span, artifact.version, artifact.split_names) == (0, 0, ["train", "eval"])
    assert sorted(os.listdir(artifact.uri)) == ["Split-eval", "Split-train"]
    for split in ("train", "eval"):
        assert [os.path.basename(f) for f in split_files(artifact, split)] == \
            ["data_tfrecord-00000-of-00001.gz"]
    counts = json.loads(str(artifact.custom_properties["row_counts"]))
    assert sum(counts.values()) == 344
    assert artifact.custom_properties["file_format"] == "tfrecords_gzip"
    assert artifact.custom_properties["quarantined_rows"] == 0


def test_records_read_back_as_the_csv_rows(tmp_path: Path, penguins: Path) -> None:
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(penguins))
    got = all_rows(examples)
    assert sorted(got, key=repr) == sorted(csv_rows(PENGUINS), key=repr)
    first = dict(got[0])
    assert isinstance(first["body_mass_g"], int) and isinstance(first["species"], str)
    assert any(dict(r)["sex"] is None for r in got)  # "NA" is a missing value


def test_gzipped_csv_reads_as_the_plain_file(tmp_path: Path, penguins: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.csv.gz`` file is inflated while read, in blocks (here of 2 KB, so many), and gives
    the rows, kinds and line numbers the plain file gives."""
    monkeypatch.setattr(csv_source, "CHUNK_BYTES", 2048)
    text = PENGUINS.read_bytes()
    write(tmp_path / "gz" / "penguins.csv.gz", gzip.compress(text))
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(tmp_path / "gz"))
    assert sorted(all_rows(examples), key=repr) == sorted(csv_rows(PENGUINS), key=repr)
    plain = generate(CsvExampleGen, tmp_path / "plain", input_base=str(penguins))
    assert examples.custom_properties["feature_kinds"] == plain.custom_properties["feature_kinds"]
    assert examples.custom_properties["row_counts"] == plain.custom_properties["row_counts"]

    lines = text.splitlines(keepends=True)
    lines.insert(300, b"1,2,3\n")  # becomes line 301
    write(tmp_path / "ragged" / "d.csv.gz", gzip.compress(b"".join(lines)))
    with pytest.raises(DataError, match=r"d\.csv\.gz:301: expected 8 fields, found 3"):
        generate(CsvExampleGen, tmp_path / "out", input_base=str(tmp_path / "ragged"))
    cases = {"header only": (gzip.compress(lines[0]), r"a header \(line 1\) but no rows"),
             "empty text": (gzip.compress(b""), "the file is empty"),
             "cut off": (gzip.compress(text)[:2000], "cannot inflate the gzip file")}
    for case, (content, message) in cases.items():
        base = tmp_path / case.replace(" ", "_")
        write(base / "d.csv.gz", content)
        with pytest.raises(DataError, match=r"d\.csv\.gz.*" + message):
            generate(CsvExampleGen, tmp_path / "out", input_base=str(base))


def test_encoded_rows_decode_back_to_the_input_rows(synthetic_dir: Path) -> None:
    table = pacsv.read_csv(synthetic_dir / "data.csv",
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    odd = pa.RecordBatch.from_arrays(
        [pa.array([-1, 2**62, None]), pa.array(["é" * 90, "", None]),
         pa.array([None, None, None], pa.null()), pa.array([1.5, float("inf"), None]),
         pa.array([[1, 2], None, []], pa.list_(pa.int64())),
         pa.array([[b"a"], [b"b", b"c"], None], pa.list_(pa.binary()))],
        ["negative", "long_text", "k" * 150, "f" * 120, "ints", "words"])
    sliced = table.combine_chunks().to_batches()[0].slice(7, 1_000)  # columns with an offset

    def expected(value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        if isinstance(value, float):
            return [float(np.float32(value))]
        return [value.encode() if isinstance(value, str) else value]

    decoder = ExamplesToRecordBatchDecoder()
    for batch in [sliced, odd]:
        back = decoder.DecodeBatch(encoding.Encoder().encode(batch))
        assert sorted(back.schema.names) == sorted(batch.schema.names)
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            assert back.column(back.schema.get_field_index(name)).to_pylist() == \
                [expected(v) for v in column.to_pylist()], name
    assert sliced.column(1).null_count and sliced.column(7).null_count  # missing values tested


def test_shards_read_with_beams_own_tfrecord_reader(tmp_path: Path, penguins: Path) -> None:
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(penguins))
    path = split_files(examples, "train")[0]
    api: Any = beam  # Beam's transforms and test helpers are untyped
    check: Any = beam_testing
    with api.Pipeline() as pipeline:
        read = pipeline | api.io.ReadFromTFRecord(path, compression_type=CompressionTypes.GZIP)
        check.assert_that(read, check.equal_to(read_records(path)))


# ---- splits -----------------------------------------------------------------------------------

def test_hash_splits_are_deterministic_and_follow_ratios(
        tmp_path: Path, synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"input_base": str(synthetic_dir), "splits": {"train": 3, "eval": 1}}
    first = generate(CsvExampleGen, tmp_path / "a", **params)
    second = generate(CsvExampleGen, tmp_path / "b", **params)
    for split in ("train", "eval"):
        assert [canonical(read_records(p)) for p in split_files(first, split)] == \
            [canonical(read_records(p)) for p in split_files(second, split)]
    train, evaluation = (len(split_records(first, s)) for s in ("train", "eval"))
    assert train + evaluation == 6_000
    assert 0.72 < train / 6_000 < 0.78
    # Cut into many chunks (batches of any size), every row still lands in the same split.
    monkeypatch.setattr(csv_source, "CHUNK_BYTES", 20_000)
    chunked = generate(CsvExampleGen, tmp_path / "c", **params)
    assert len(split_files(chunked, "train")) > 5
    for split in ("train", "eval"):
        assert sorted(canonical(split_records(chunked, split))) == \
            sorted(canonical(split_records(first, split)))


def test_partition_feature_keeps_equal_values_in_one_split(tmp_path: Path,
                                                           synthetic_dir: Path) -> None:
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(synthetic_dir),
                        partition_feature="country")
    where: dict[Any, set[str]] = collections.defaultdict(set)
    for split in ("train", "eval"):
        for row in decoded_rows(split_records(examples, split)):
            where[dict(row)["country"]].add(split)
    assert len(where) > 90
    assert all(len(splits) == 1 for splits in where.values())
    assert {s for splits in where.values() for s in splits} == {"train", "eval"}


def test_split_patterns_give_each_split_its_files(tmp_path: Path) -> None:
    for split in ("train", "test"):
        (tmp_path / "in" / split).mkdir(parents=True)
    synthetic.write_csv(tmp_path / "in" / "train" / "part.csv", 300, seed=1)
    synthetic.write_csv(tmp_path / "in" / "test" / "part.csv", 120, seed=2)
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(tmp_path / "in"),
                        split_patterns={"train": "train/*.csv", "test": "test/*.csv"})
    assert examples.split_names == ["train", "test"]
    assert len(split_records(examples, "train")) == 300
    assert decoded_rows(split_records(examples, "test")) and \
        sorted(decoded_rows(split_records(examples, "test")), key=repr) == \
        sorted(csv_rows(tmp_path / "in" / "test" / "part.csv"), key=repr)


# ---- spans and versions ----------------------------------------------------------------------

@pytest.fixture
def spans_dir(tmp_path: Path) -> Path:
    """span-1 (v1), span-2 (v1, v2), span-3 (v1), span-5 (v1): a column ``tag`` names each."""
    base = tmp_path / "spans"
    for span, version in [(1, 1), (2, 1), (2, 2), (3, 1), (5, 1)]:
        write(base / f"span-{span}" / f"v{version}" / "data.csv",
              "tag,x\n" + "".join(f"s{span}v{version},{i}\n" for i in range(20)))
    return base


def tags(examples: Examples) -> set[str]:
    return {dict(r)["tag"] for r in all_rows(examples)}


def test_latest_span_and_version_by_default(tmp_path: Path, spans_dir: Path) -> None:
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(spans_dir),
                        pattern="span-{SPAN}/v{VERSION}/*.csv")
    assert (examples.span, examples.version, tags(examples)) == (5, 1, {"s5v1"})


@pytest.mark.parametrize(("span_range", "expected", "latest"), [
    ({"start_span": 1, "end_span": 2}, {"s1v1", "s2v2"}, 2),
    ({"num_spans": 2}, {"s3v1", "s5v1"}, 5),
    ({"num_spans": 2, "skip_recent_spans": 1}, {"s2v2", "s3v1"}, 3),
])
def test_static_and_rolling_ranges(tmp_path: Path, spans_dir: Path, span_range: dict[str, int],
                                   expected: set[str], latest: int) -> None:
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(spans_dir),
                        pattern="span-{SPAN}/v{VERSION}/*.csv", span_range=span_range)
    assert tags(examples) == expected and examples.span == latest
    assert json.loads(str(examples.custom_properties["spans"]))[-1] == latest


def test_static_range_with_a_missing_span_is_an_error(tmp_path: Path, spans_dir: Path) -> None:
    with pytest.raises(DataError, match=r"span 4 of the static range 3\.\.5 has no files"):
        generate(CsvExampleGen, tmp_path / "out", input_base=str(spans_dir),
                 pattern="span-{SPAN}/v{VERSION}/*.csv",
                 span_range={"start_span": 3, "end_span": 5})


def test_date_patterns(tmp_path: Path) -> None:
    for day in ("2024-01-30", "2024-01-31", "2024-02-01"):
        write(tmp_path / "in" / day.replace("-", "") / "d.csv", f"day,v\n{day},1\n{day},2\n")
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(tmp_path / "in"),
                        pattern="{YYYY}{MM}{DD}/*.csv",
                        span_range={"start_span": "2024-01-31", "end_span": "2024-02-01"})
    assert {dict(r)["day"] for r in all_rows(examples)} == {"2024-01-31", "2024-02-01"}
    assert examples.span == 19754  # days from 1970-01-01 to 2024-02-01


# ---- other sources and Parquet output -----------------------------------------------------

def test_parquet_input_and_parquet_output(tmp_path: Path) -> None:
    table = pacsv.read_csv(PENGUINS)
    (tmp_path / "in").mkdir()
    pq.write_table(table.slice(0, 200), tmp_path / "in" / "a.parquet")
    pq.write_table(table.slice(200), tmp_path / "in" / "b.parquet")
    examples = generate(ParquetExampleGen, tmp_path / "out", input_base=str(tmp_path / "in"),
                        output_format="parquet")
    assert examples.custom_properties["file_format"] == "parquet"
    parts = [pq.read_table(p) for s in ("train", "eval") for p in split_files(examples, s)]
    assert all(os.path.basename(p).startswith("data_parquet-")
               for s in ("train", "eval") for p in split_files(examples, s))
    back = pa.concat_tables(parts)
    key = ["species", "island", "bill_length_mm", "body_mass_g", "sex", "year"]
    assert back.num_rows == 344 and back.schema.names == table.schema.names
    assert back.sort_by([(k, "ascending") for k in key]).to_pylist() == \
        table.sort_by([(k, "ascending") for k in key]).to_pylist()


def test_import_example_gen_resplits_existing_records(tmp_path: Path, penguins: Path) -> None:
    source = generate(CsvExampleGen, tmp_path / "csv", input_base=str(penguins))
    (tmp_path / "in").mkdir()
    records = split_records(source, "train") + split_records(source, "eval")
    shutil.copy(split_files(source, "train")[0], tmp_path / "in" / "a.tfrecord.gz")
    write_tfrecord(tmp_path / "in" / "b.tfrecord", split_records(source, "eval"))
    imported = generate(ImportExampleGen, tmp_path / "out", input_base=str(tmp_path / "in"),
                        splits={"train": 1, "eval": 1})
    assert sorted(split_records(imported, "train") + split_records(imported, "eval")) == \
        sorted(records)
    by_island = generate(ImportExampleGen, tmp_path / "out2", input_base=str(tmp_path / "in"),
                         partition_feature="island")
    islands = {s: {dict(r)["island"] for r in decoded_rows(split_records(by_island, s))}
               for s in ("train", "eval")}
    assert not islands["train"] & islands["eval"]


def test_damaged_tfrecords_fail_naming_file_and_record(tmp_path: Path, penguins: Path) -> None:
    source = generate(CsvExampleGen, tmp_path / "csv", input_base=str(penguins))
    records = split_records(source, "train")
    good = write_tfrecord(tmp_path / "good.tfrecord", records).read_bytes()
    at = sum(16 + len(r) for r in records[:39]) + 12 + 3  # a data byte of record 40
    cases = {
        "crc": (good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:],
                r"x\.tfrecord: record 40: the file is damaged.*corrupted record at"),
        "cut": (good[:-10], rf"x\.tfrecord: record {len(records)}: .*truncated record"),
        "text": (b"a,b,c\n1,2,3\n" * 5, r"x\.tfrecord: record 1: .*not a TFRecord file"),
    }
    gzipped = write_tfrecord(tmp_path / "gz.tfrecord", records, "GZIP").read_bytes()
    cases["gzip cut"] = (gzipped[:len(gzipped) // 2],
                         r"x\.tfrecord: record \d+: (the file is damaged, cut off or not a "
                         r"gzipped TFRecord file|the gzip stream is cut off)")
    for case, (content, message) in cases.items():
        base = tmp_path / case.replace(" ", "_")
        write(base / "x.tfrecord", content)
        for policy in ("error", "quarantine"):
            with pytest.raises(DataError, match=message):
                generate(ImportExampleGen, tmp_path / "out", input_base=str(base),
                         bad_rows=policy)
    write_tfrecord(tmp_path / "junk" / "x.tfrecord", [*records[:5], b"\xff\x01", *records[5:]])
    with pytest.raises(DataError, match=r"x\.tfrecord: record 6 is not a serialized tf.Example"):
        generate(ImportExampleGen, tmp_path / "out", input_base=str(tmp_path / "junk"),
                 partition_feature="island")


@pytest.fixture
def penguin_db(tmp_path: Path) -> Path:
    path = tmp_path / "penguins.db"
    table = pacsv.read_csv(PENGUINS,
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE penguins (species TEXT, island TEXT, bill_length_mm REAL, "
                   "bill_depth_mm REAL, flipper_length_mm INTEGER, body_mass_g INTEGER, "
                   "sex TEXT, year INTEGER)")
        db.executemany("INSERT INTO penguins VALUES (?,?,?,?,?,?,?,?)",
                       [tuple(r.values()) for r in table.to_pylist()])
    return path


def test_query_example_gen_reads_sqlite(root: Path, penguin_db: Path) -> None:
    gen = QueryExampleGen(url=f"sqlite:///{penguin_db}",
                          query="SELECT * FROM penguins WHERE year >= {SPAN}", span=2008)
    result = LocalRunner().run(Pipeline("query", [gen], root=str(root)))
    artifact = result["query_example_gen"].outputs["examples"][0].to_artifact()
    assert isinstance(artifact, Examples) and artifact.span == 2008
    expected = [r for r in csv_rows(PENGUINS) if dict(r)["year"] >= 2008]
    assert sorted(all_rows(artifact), key=repr) == sorted(expected, key=repr)
    per_split = generate(QueryExampleGen, root / "direct", url=f"sqlite:///{penguin_db}",
                         query="", split_queries={
                             "train": "SELECT * FROM penguins WHERE year < 2009",
                             "eval": "SELECT * FROM penguins WHERE year = 2009"})
    assert {dict(r)["year"] for r in decoded_rows(split_records(per_split, "eval"))} == {2009}


# ---- cache ------------------------------------------------------------------------------------

def test_changed_input_file_invalidates_the_cache(root: Path, penguins: Path) -> None:
    def run() -> str:
        result = LocalRunner().run(Pipeline("cache", [CsvExampleGen(input_base=str(penguins))],
                                            root=str(root)))
        return result["csv_example_gen"].state

    assert run() == COMPLETE
    assert run() == CACHED
    with open(penguins / "penguins.csv", "a", encoding="utf-8") as f:
        f.write("Gentoo,Biscoe,50.0,15.0,220,5000,male,2009\n")
    assert run() == COMPLETE


# ---- bad input --------------------------------------------------------------------------------

GOOD = "a,b,c\n1,x,2.5\n2,y,3.5\n3,z,4.5\n"
BAD_INPUTS: dict[str, tuple[dict[str, str | bytes], dict[str, Any], str]] = {
    "no files": ({"data.csv": GOOD}, {"pattern": "*.tsv"},
                 r"pattern '\*\.tsv' matched no files under input_base"),
    "empty file": ({"data.csv": ""}, {}, r"data\.csv: the file is empty"),
    "header only": ({"data.csv": "a,b,c\n"}, {}, r"data\.csv: the file has a header \(line 1\)"),
    "ragged row": ({"data.csv": GOOD + "4,w\n5,v,1.0\n"}, {},
                   r"data\.csv:5: expected 3 fields, found 2"),
    "undecodable": ({"data.csv": GOOD.encode() + b"4,caf\xe9,1.0\n"}, {},
                    r"data\.csv:5: bytes that are not valid utf-8"),
    "type change": ({"s1/d.csv": GOOD, "s2/d.csv": "a,b,c\n1,x,oops\n"},
                    {"pattern": "s{SPAN}/*.csv", "span_range": {"num_spans": 2}},
                    r"column 'c' changes type: float in span 1 \(.*s1/d\.csv\) but bytes in "
                    r"span 2 \(.*s2/d\.csv\)"),
    "missing column": ({"train/d.csv": GOOD, "eval/d.csv": "a,b\n1,x\n"},
                       {"split_patterns": {"train": "train/*", "eval": "eval/*"}},
                       r"eval/d\.csv:1 \(split 'eval'\): column 'c' is missing"),
}


def test_bad_inputs_fail_naming_file_and_line_and_keep_earlier_artifacts(
        root: Path, tmp_path: Path, penguins: Path, penguin_db: Path,
        open_store: MetadataStore) -> None:
    good = LocalRunner().run(Pipeline("bad", [CsvExampleGen(input_base=str(penguins))],
                                      root=str(root)))
    earlier = good["csv_example_gen"].outputs["examples"][0]
    files_before = sorted(p.name for p in Path(earlier.uri).rglob("*"))

    def fails(node: Any, message: str) -> None:
        with pytest.raises(RunFailedError) as failure:
            LocalRunner().run(Pipeline("bad", [node], root=str(root)))
        executions = open_store.run_executions(failure.value.run_id)
        error = str(executions[-1].properties["error"])
        assert error.startswith("DataError: "), error
        assert re.search(message, error), error
        assert open_store.get_artifact(earlier.id).state == "LIVE"
        assert sorted(p.name for p in Path(earlier.uri).rglob("*")) == files_before

    for case, (files, params, message) in BAD_INPUTS.items():
        base = tmp_path / case.replace(" ", "_")
        for name, content in files.items():
            write(base / name, content)
        fails(CsvExampleGen(input_base=str(base), **params), message)
    fails(QueryExampleGen(url=f"sqlite:///{penguin_db}", query="SELECT * FROM nowhere"),
          r"the query failed on sqlite:///.*no such table: nowhere")


def test_quarantine_sets_bad_rows_aside_with_their_lines(tmp_path: Path) -> None:
    write(tmp_path / "in" / "data.csv",
          GOOD.encode() + b"4,w\n5,caf\xe9,1.0\n6,ok,2.0\n7,a,b,c\n")
    examples = generate(CsvExampleGen, tmp_path / "out", input_base=str(tmp_path / "in"),
                        bad_rows="quarantine")
    assert examples.custom_properties["quarantined_rows"] == 3
    assert len(all_rows(examples)) == 4
    lines = [json.loads(x) for x in (tmp_path / "out" / "quarantine.jsonl").read_text()
             .splitlines()]
    assert [(x["line"], x["reason"].split(" ")[0]) for x in lines] == \
        [(6, "bytes"), (5, "expected"), (8, "expected")]
    assert lines[1]["text"] == "4,w" and all(x["file"].endswith("data.csv") for x in lines)


# ---- definitions and imports ------------------------------------------------------------------

@pytest.mark.parametrize(("params", "message"), [
    ({"splits": {"train": 0}}, "positive number of hash buckets"),
    ({"splits": {"a/b": 1}}, "is not valid"),
    ({"span_range": {"num_spans": 0}}, "num_spans must be a positive integer"),
    ({"pattern": "{SPAN}-{DAY}.csv"}, r"unknown spec \{DAY\}"),
    ({"split_patterns": {"train": "t/*"}, "splits": {"train": 1}}, "cannot be combined"),
])
def test_bad_parameters_fail_when_the_node_is_built(params: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        CsvExampleGen(input_base="data", **params)


def test_importing_declarations_loads_no_heavy_library() -> None:
    code = ("import conveyor, conveyor.components.examplegen as g\n"
            "g.CsvExampleGen(input_base='x')")
    assert modules_imported_by(code, ["tensorflow", "apache_beam", "pyarrow", "pandas",
                                      "sqlalchemy", "numpy", "tfx_bsl"]) == []


# ---- runners ----------------------------------------------------------------------------------

def test_default_runner_runs_work_items_on_a_thread_per_cpu(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "_cpus", lambda: 4)
    assert convert.runner_options(["--x=1"], 3) == \
        ["--x=1", "--direct_running_mode=multi_threading", "--direct_num_workers=3"]
    assert convert.runner_options([], 1) == []
    for chosen in (["--runner=FlinkRunner"], ["--direct_running_mode", "in_memory"],
                   ["--direct_num_workers=2"]):
        assert convert.runner_options(chosen, 9) == chosen


@pytest.mark.slow
def test_multi_processing_runner_writes_the_same_files(
        tmp_path: Path, synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_source, "CHUNK_BYTES", 100_000)
    params: dict[str, Any] = {"input_base": str(synthetic_dir), "partition_feature": "product"}
    in_memory = generate(CsvExampleGen, tmp_path / "a", **params)
    root = tmp_path / "root"
    beam_args = ["--direct_running_mode=multi_processing", "--direct_num_workers=2",
                 "--default_sdk_harness_log_level=WARNING"]
    result = LocalRunner().run(Pipeline("mp", [CsvExampleGen(**params)], root=str(root),
                                        beam_args=beam_args))
    multi = result["csv_example_gen"].outputs["examples"][0].to_artifact()
    assert isinstance(multi, Examples)
    for split in ("train", "eval"):
        ours, theirs = split_files(in_memory, split), split_files(multi, split)
        assert len(ours) > 1
        assert [os.path.basename(p) for p in ours] == [os.path.basename(p) for p in theirs]
        assert [canonical(read_records(p)) for p in ours] == \
            [canonical(read_records(p)) for p in theirs]


def test_a_gzip_file_cut_between_records_is_not_read_as_complete(tmp_path: Path,
                                                                 penguins: Path) -> None:
    # A cut that falls exactly after a record of the inflated stream: TensorFlow's reader
    # reports a clean end there, so the missing end marker must be noticed separately.
    import zlib

    source = generate(CsvExampleGen, tmp_path / "csv", input_base=str(penguins))
    records = split_records(source, "train")
    plain = write_tfrecord(tmp_path / "plain.tfrecord", records).read_bytes()
    whole = sum(16 + len(r) for r in records[:10])
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = packer.compress(plain[:whole]) + packer.flush(zlib.Z_SYNC_FLUSH)
    write(tmp_path / "cut" / "x.tfrecord", cut)
    with pytest.raises(DataError, match=r"x\.tfrecord: record 11: the gzip stream is cut off "
                       r"after 10 records"):
        generate(ImportExampleGen, tmp_path / "out", input_base=str(tmp_path / "cut"))
