"""Transform on tensorflow-transform, on the real Palmer penguins (CsvExampleGen -> StatisticsGen
-> SchemaGen -> Transform through the LocalRunner, run once per module) and on synthetic spans
for the analyzer cache (the executor called directly). Every check reads what tf.Transform wrote
back with TensorFlow: the transformed TFRecords, ``tft.TFTransformOutput`` and its vocabularies.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from data_helpers import synthetic_examples, synthetic_table, write_examples
from tensorflow_metadata.proto.v0 import schema_pb2

from conveyor import LatestArtifact, LatestSpans, LocalRunner, Pipeline, RuntimeParameter
from conveyor.artifacts import LIVE, Examples, Schema, TransformCache, TransformGraph
from conveyor.components.examplegen import CsvExampleGen
from conveyor.components.transform import Transform
from conveyor.components.transform import executor as transform_executor
from conveyor.components.transform.user_code import load_preprocessing_fn
from conveyor.components.validate import ImportSchemaGen, SchemaGen, StatisticsGen
from conveyor.data import layout
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DefinitionError, ModuleFileError, ParameterTypeError
from conveyor.examples.penguin_data_pipeline import penguins_dir
from conveyor.orchestrators.local import RunResult

#: The penguin preprocessing module (found without importing it: it imports TensorFlow).
PENGUIN_MODULE = str(Path(__file__).resolve().parent.parent / "conveyor" / "examples"
                     / "penguin_preprocessing.py")
NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
TRANSFORMED = {*(f"{k}_xf" for k in NUMERIC), "body_mass_bucket_xf", "island_xf", "sex_xf",
               "species_xf"}


def penguin_nodes(**transform_args: Any) -> list[Any]:
    """CsvExampleGen -> StatisticsGen -> SchemaGen -> Transform on the penguins."""
    gen = CsvExampleGen(input_base=penguins_dir(), pattern="penguins.csv")
    stats = StatisticsGen(examples=gen.outputs.examples)
    schema = SchemaGen(statistics=stats.outputs.statistics)
    args = transform_args or {"module_file": PENGUIN_MODULE}
    transform = Transform(examples=gen.outputs.examples, schema=schema.outputs.schema, **args)
    return [gen, stats, schema, transform]


@pytest.fixture(scope="module")
def penguin_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The penguin pipeline, run once for the tests that read its outputs."""
    root = tmp_path_factory.mktemp("penguin_transform")
    return LocalRunner().run(Pipeline("penguin_transform", penguin_nodes(), root=str(root)))


def transform_output(graph_uri: str) -> Any:
    """``tft.TFTransformOutput`` of a TransformGraph (tf.Transform is untyped)."""
    import tensorflow_transform

    tft: Any = tensorflow_transform
    return tft.TFTransformOutput(graph_uri)


def uri(result: RunResult, node: str, key: str) -> str:
    """Where a node's output was published."""
    return result[node].outputs[key][0].uri


def read_split(examples_uri: str, split: str) -> list[Any]:
    """The tf.train.Examples of one split, in file order."""
    import tensorflow as tf

    directory = layout.split_dir(examples_uri, split)
    records: list[Any] = []
    for name in sorted(os.listdir(directory)):
        dataset = tf.data.TFRecordDataset(os.path.join(directory, name), compression_type="GZIP")
        records.extend(tf.train.Example.FromString(r) for r in dataset.as_numpy_iterator())
    return records


def column(examples: list[Any], name: str) -> list[Any]:
    """One feature's value per example (None when absent)."""
    values: list[Any] = []
    for example in examples:
        feature = example.features.feature.get(name)
        if feature is None:
            values.append(None)
            continue
        kind = feature.WhichOneof("kind")
        found = list(getattr(feature, kind).value) if kind else []
        values.append(found[0] if found else None)
    return values


# ---- outputs: the tf.Transform directory and transformed Examples ------------------------------

def test_outputs_are_the_tf_transform_directory_and_examplegen_layout(
        penguin_run: RunResult) -> None:
    graph = uri(penguin_run, "transform", "transform_graph")
    assert sorted(os.listdir(graph)) == ["metadata", "transform_fn", "transformed_metadata"]
    output = transform_output(graph)
    assert set(output.transformed_feature_spec()) == TRANSFORMED
    record = penguin_run["transform"].outputs["transformed_examples"][0]
    examples = record.to_artifact()
    assert isinstance(examples, Examples) and record.state == LIVE
    assert (examples.span, examples.version, examples.split_names) == (0, 0, ["train", "eval"])
    for split in ("train", "eval"):
        names = os.listdir(layout.split_dir(examples.uri, split))
        assert names and all(n.startswith("data_tfrecord-") and n.endswith(".gz") for n in names)
    counts = json.loads(str(penguin_run["csv_example_gen"].outputs["examples"][0]
                            .custom_properties["row_counts"]))
    for split in ("train", "eval"):
        rows = read_split(examples.uri, split)
        assert len(rows) == counts[split]
        assert set(rows[0].features.feature) == TRANSFORMED


def raw_split(result: RunResult, split: str) -> list[Any]:
    """The raw tf.Examples of a split, as CsvExampleGen wrote them."""
    return read_split(uri(result, "csv_example_gen", "examples"), split)


def test_numeric_features_are_z_scored_with_the_train_split_statistics(
        penguin_run: RunResult) -> None:
    transformed = uri(penguin_run, "transform", "transformed_examples")
    train_raw, train_xf = raw_split(penguin_run, "train"), read_split(transformed, "train")
    eval_raw, eval_xf = raw_split(penguin_run, "eval"), read_split(transformed, "eval")
    for key in NUMERIC:
        present = np.array([v for v in column(train_raw, key) if v is not None], float)
        mean, std = present.mean(), present.std()
        z_train = np.array(column(train_xf, f"{key}_xf"))
        missing = len(train_raw) - len(present)
        # Present values are z-scored (mean 0, std 1 over the analysed split); missing ones are 0.
        np.testing.assert_allclose(np.sort(z_train),
                                   np.sort(np.concatenate([(present - mean) / std,
                                                           np.zeros(missing)])), atol=1e-4)
        assert abs(z_train.mean()) < 1e-5
        assert abs(z_train.std() * np.sqrt(len(train_raw) / len(present)) - 1.0) < 1e-3
        # eval is scaled with train's mean and std, not its own.
        eval_present = np.array([v for v in column(eval_raw, key) if v is not None], float)
        z_eval = np.array(column(eval_xf, f"{key}_xf"))
        expected = np.concatenate([(eval_present - mean) / std,
                                   np.zeros(len(eval_raw) - len(eval_present))])
        np.testing.assert_allclose(np.sort(z_eval), np.sort(expected), atol=1e-4)
        assert abs(np.mean((eval_present - mean) / std)) > 1e-4  # not re-centred on eval


def test_vocabulary_ids_map_back_to_the_raw_values(penguin_run: RunResult) -> None:
    output = transform_output(uri(penguin_run, "transform", "transform_graph"))
    transformed = read_split(uri(penguin_run, "transform", "transformed_examples"), "train")
    raw = raw_split(penguin_run, "train")
    for key, missing in (("island", None), ("sex", b"unknown"), ("species", None)):
        vocabulary = output.vocabulary_by_name(key)
        ids = column(transformed, f"{key}_xf")
        assert all(0 <= i < len(vocabulary) for i in ids)  # every train value was analysed
        decoded = Counter(vocabulary[i] for i in ids)
        expected = Counter(v if v is not None else missing for v in column(raw, key))
        assert decoded == expected
    assert sorted(output.vocabulary_by_name("species")) == \
        [b"Adelie", b"Chinstrap", b"Gentoo"]


def test_transform_graph_on_raw_rows_equals_the_transformed_examples(
        penguin_run: RunResult) -> None:
    """The graph a Trainer bakes into the served model gives exactly what Transform wrote
    (no training/serving skew from the preprocessing); and tft.bucketize made quartiles."""
    import tensorflow as tf
    output = transform_output(uri(penguin_run, "transform", "transform_graph"))
    raw = raw_split(penguin_run, "eval")
    parsed = tf.io.parse_example([r.SerializeToString() for r in raw],
                                 output.raw_feature_spec())
    applied = {k: v.numpy() for k, v in output.transform_raw_features(parsed).items()}
    assert set(applied) == TRANSFORMED
    written = read_split(uri(penguin_run, "transform", "transformed_examples"), "eval")
    names = sorted(TRANSFORMED)

    def rows(columns: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
        return sorted(tuple(round(float(columns[n][i]), 4) for n in names)
                      for i in range(len(raw)))

    assert rows({n: list(applied[n]) for n in names}) == \
        rows({n: column(written, n) for n in names})
    mass = np.array([np.nan if v is None else v for v in column(raw, "body_mass_g")])
    buckets = applied["body_mass_bucket_xf"]
    assert set(buckets[np.isnan(mass)]) <= {-1} and set(buckets[~np.isnan(mass)]) <= {0, 1, 2, 3}
    for low, high in zip(range(3), range(1, 4), strict=True):  # buckets ordered by mass
        assert mass[buckets == low].max() <= mass[buckets == high].min()
    assert min(Counter(buckets[~np.isnan(mass)]).values()) > 0.1 * len(raw)


class StepClock:
    """A clock reading ``step`` seconds later at every call: what Beam's ``BatchElements``
    sees of a fast (tiny steps) or slow (large steps) machine when it sizes batches."""

    def __init__(self, step: float) -> None:
        self.step, self.now = step, 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_the_same_data_transform_to_the_same_bits_however_fast_batches_run(
        penguin_run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where record batches end must not depend on timing: analyzers fold batches into float
    accumulators, so batches sized by speed gave z-scores a few ulps apart from run to run."""
    import apache_beam.transforms.util as beam_util

    examples = penguin_run["csv_example_gen"].outputs["examples"][0].to_artifact()
    schema = penguin_run["schema_gen"].outputs["schema"][0].to_artifact()
    assert isinstance(examples, Examples) and isinstance(schema, Schema)
    written: dict[float, dict[str, list[Any]]] = {}
    for step in (1e-6, 10.0):
        monkeypatch.setitem(beam_util.BatchElements.__init__.__kwdefaults__, "clock",
                            StepClock(step))
        outputs = run_transform(tmp_path, f"step{step}", [examples], schema,
                                Path(PENGUIN_MODULE), None)
        rows = [*read_split(outputs["transformed_examples"].uri, "train"),
                *read_split(outputs["transformed_examples"].uri, "eval")]
        written[step] = {name: column(rows, name) for name in sorted(TRANSFORMED)}
    fast, slow = written.values()
    assert len(fast["bill_length_mm_xf"]) == 344
    for name in sorted(TRANSFORMED):
        assert np.array_equal(np.array(fast[name]), np.array(slow[name])), name


def test_preprocessing_fn_by_import_path() -> None:
    from conveyor.examples import penguin_preprocessing

    fn = load_preprocessing_fn(
        None, "conveyor.examples.penguin_preprocessing:preprocessing_fn", {})
    assert fn.function is penguin_preprocessing.preprocessing_fn
    with pytest.raises(ModuleFileError, match=r"cannot import module 'conveyor\.no_such'"):
        load_preprocessing_fn(None, "conveyor.no_such:preprocessing_fn", {})


# ---- the analyzer cache -------------------------------------------------------------------------

SYNTHETIC_FN = """
import tensorflow as tf
import tensorflow_transform as tft


def preprocessing_fn(inputs, custom_config):
    size = tf.reshape(inputs["size"], [-1])
    return {
        "size_xf": tft.scale_to_z_score(size),
        "colour_xf": tft.compute_and_apply_vocabulary(tf.reshape(inputs["colour"], [-1]),
                                                      vocab_filename="colour"),
        "count_xf": tft.scale_by_min_max(tf.cast(tf.reshape(inputs["count"], [-1]),
                                                 tf.float32)) * custom_config["scale"],
    }
"""


def synthetic_schema(tmp: Path) -> Schema:
    """A Schema artifact for :func:`synthetic_table` (every feature present once per row)."""
    schema = schema_pb2.Schema()
    for name, kind in (("size", schema_pb2.FLOAT), ("count", schema_pb2.INT),
                       ("colour", schema_pb2.BYTES)):
        feature = schema.feature.add(name=name, type=kind)
        feature.shape.dim.add(size=1)
        feature.presence.min_fraction = 1.0
    artifact = Schema(uri=str(tmp / "schema"))
    layout.write_schema(artifact.uri, schema)
    return artifact


def span_examples(tmp: Path, span: int, shift: float) -> Examples:
    """A synthetic span with a train and an eval split."""
    artifact = Examples(uri=str(tmp / f"span{span}"))
    tables = {"train": synthetic_table(3_000, seed=span, shift=shift),
              "eval": synthetic_table(500, seed=100 + span, shift=shift)}
    artifact.split_names = write_examples(artifact.uri, tables)
    artifact.span, artifact.version = span, 0
    return artifact


def run_transform(tmp: Path, name: str, examples: list[Examples], schema: Schema,
                  module: Path, cache: TransformCache | None,
                  beam_args: list[str] | None = None) -> dict[str, Any]:
    """Call the executor directly; its outputs by name."""
    outputs: dict[str, Any] = {"transform_graph": TransformGraph(uri=str(tmp / name / "graph")),
               "transformed_examples": Examples(uri=str(tmp / name / "examples")),
               "updated_analyzer_cache": TransformCache(uri=str(tmp / name / "cache"))}
    scratch = tmp / name / "scratch"
    scratch.mkdir(parents=True)
    context = ExecutionContext(pipeline="test", run_id=name, node_id="transform", execution_id=0,
                               pipeline_root=str(tmp), scratch_dir=str(scratch),
                               beam_args=beam_args or [])
    transform_executor.run(examples=examples, schema=schema, module_file=str(module),
                           preprocessing_fn=None, splits_config=None,
                           custom_config={"scale": 2.0}, analyzer_cache=cache,
                           context=context, **outputs)
    return outputs


@dataclass
class Synthetic:
    """Two synthetic spans, their schema and preprocessing module, and Transform on span 0."""

    tmp: Path
    module: Path
    schema: Schema
    span0: Examples
    span1: Examples
    first: dict[str, Any]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """Transform (the executor, default runner) on span 0, shared by the tests below."""
    tmp = tmp_path_factory.mktemp("synthetic")
    module = tmp / "synthetic_preprocessing.py"
    module.write_text(SYNTHETIC_FN)
    schema = synthetic_schema(tmp)
    span0, span1 = span_examples(tmp, 0, 0.0), span_examples(tmp, 1, 3.0)
    first = run_transform(tmp, "first", [span0], schema, module, None)
    return Synthetic(tmp, module, schema, span0, span1, first)


def test_a_new_span_reuses_the_cached_analysis_of_earlier_spans(synthetic: Synthetic) -> None:
    import tensorflow as tf

    first = synthetic.first
    (key0,) = json.loads(str(first["transform_graph"].custom_properties["analyzed_datasets"]))
    assert key0.startswith("train-span0-v0-")
    assert json.loads(str(first["updated_analyzer_cache"].custom_properties["dataset_keys"])) \
        == [key0]

    # The window moves on: spans 0 and 1, with the first run's cache. Span 0 is not read again.
    second = run_transform(synthetic.tmp, "second", [synthetic.span0, synthetic.span1],
                           synthetic.schema, synthetic.module, first["updated_analyzer_cache"])
    graph = second["transform_graph"].custom_properties
    (key1,) = json.loads(str(graph["analyzed_datasets"]))
    assert key1.startswith("train-span1-v0-")
    assert json.loads(str(graph["cached_datasets"])) == [key0]
    assert sorted(json.loads(str(second["updated_analyzer_cache"]
                                 .custom_properties["dataset_keys"]))) == [key0, key1]

    # The cached accumulators of span 0 and the new ones of span 1 together give the analysis
    # of both spans: numpy's over the raw rows of both.
    tables = [synthetic_table(3_000, seed=s, shift=shift) for s, shift in ((0, 0.0), (1, 3.0))]
    sizes = np.concatenate([t.column("size").to_numpy().astype(np.float32) for t in tables])
    counts = np.concatenate([t.column("count").to_numpy() for t in tables])
    colours = Counter(c for t in tables for c in t.column("colour").to_pylist())
    output = transform_output(second["transform_graph"].uri)
    assert Counter(output.vocabulary_by_name("colour")) == Counter(c.encode() for c in colours)
    probe = {"size": tf.constant([[8.0], [10.0], [14.0]]),
             "count": tf.constant([[0], [7], [19]], tf.int64),
             "colour": tf.constant([[b"red"], [b"blue"], [b"green"]])}
    got = {k: v.numpy() for k, v in output.transform_raw_features(probe).items()}
    np.testing.assert_allclose(got["size_xf"],
                               (np.array([8.0, 10.0, 14.0]) - sizes.mean()) / sizes.std(),
                               rtol=1e-4)
    np.testing.assert_allclose(got["count_xf"], 2.0 * (np.array([0, 7, 19]) - counts.min())
                               / (counts.max() - counts.min()), rtol=1e-5)
    # Both spans' rows are transformed, and custom_config reached the function.
    transformed = second["transformed_examples"]
    assert transformed.span == 1 and json.loads(str(transformed.custom_properties["spans"])) \
        == [0, 1]
    written = column(read_split(transformed.uri, "train"), "count_xf")
    assert len(written) == 6_000 and max(written) == pytest.approx(2.0)


def test_a_span_window_pipeline_reads_only_the_new_span(tmp_path: Path) -> None:
    """The TFX pattern, through the LocalRunner: Transform over the two newest spans
    (LatestSpans) with the previous run's cache (LatestArtifact); the second run reads span 1
    only, and its analysis covers both spans."""
    module = tmp_path / "synthetic_preprocessing.py"
    module.write_text(SYNTHETIC_FN)
    schema_file = synthetic_schema(tmp_path).uri + "/schema.pbtxt"
    gen = synthetic_examples(span=RuntimeParameter("span", int, default=0), rows=1_000)
    schema = ImportSchemaGen(schema_file=schema_file)
    window = LatestSpans(producer=gen, n=2, required=True).after(gen)
    previous = LatestArtifact(type=TransformCache, producer="transform")
    transform = Transform(examples=window.outputs.artifacts, schema=schema.outputs.schema,
                          analyzer_cache=previous.outputs.artifact, module_file=str(module),
                          custom_config={"scale": 1.0})
    pipeline = Pipeline("window", [gen, schema, window, previous, transform],
                        root=str(tmp_path / "root"))
    runs = [LocalRunner().run(pipeline, parameters={"span": span}) for span in (0, 1)]

    def report(result: RunResult, key: str) -> list[str]:
        graph = result["transform"].outputs["transform_graph"][0]
        found: list[str] = json.loads(str(graph.custom_properties[key]))
        return found

    assert [k.split("-")[1] for k in report(runs[0], "analyzed_datasets")] == ["span0"]
    assert report(runs[0], "cached_datasets") == []
    assert [k.split("-")[1] for k in report(runs[1], "analyzed_datasets")] == ["span1"]
    assert report(runs[1], "cached_datasets") == report(runs[0], "analyzed_datasets")
    transformed = runs[1]["transform"].outputs["transformed_examples"][0]
    assert transformed.properties["span"] == 1
    assert len(read_split(transformed.uri, "train")) == 2_000  # both spans' rows
    output = transform_output(runs[1]["transform"].outputs["transform_graph"][0].uri)
    sizes = np.concatenate([synthetic_table(1_000, seed=span * 10).column("size")
                            .to_numpy().astype(np.float32) for span in (0, 1)])
    import tensorflow as tf

    probe = {"size": tf.constant([[10.0]]), "count": tf.constant([[3]], tf.int64),
             "colour": tf.constant([[b"red"]])}
    np.testing.assert_allclose(output.transform_raw_features(probe)["size_xf"].numpy(),
                               [(10.0 - sizes.mean()) / sizes.std()], rtol=1e-4)


def test_a_module_file_reaches_beam_worker_processes(synthetic: Synthetic) -> None:
    """On the DirectRunner's multi_processing mode, workers unpickle the preprocessing_fn of a
    module loaded by path (they cannot import it by name), and transform as in process."""
    outputs = run_transform(synthetic.tmp, "workers", [synthetic.span0], synthetic.schema,
                            synthetic.module, None,
                            beam_args=["--direct_running_mode=multi_processing",
                                       "--direct_num_workers=2",
                                       "--default_sdk_harness_log_level=WARNING"])
    assert_same_transformed(outputs, synthetic.first)


def assert_same_transformed(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Two Transform outputs hold the same vocabulary and transformed rows (in any order)."""
    assert transform_output(actual["transform_graph"].uri).vocabulary_by_name("colour") == \
        transform_output(expected["transform_graph"].uri).vocabulary_by_name("colour")
    for split in ("train", "eval"):
        got = read_split(actual["transformed_examples"].uri, split)
        wanted = read_split(expected["transformed_examples"].uri, split)
        assert len(got) == len(wanted)
        for name in ("size_xf", "count_xf", "colour_xf"):
            np.testing.assert_allclose(sorted(column(got, name)), sorted(column(wanted, name)),
                                       rtol=1e-5, atol=1e-6)


def test_parquet_examples_transform_as_their_tfrecord_twins(synthetic: Synthetic) -> None:
    import pyarrow.parquet as pq

    parquet = Examples(uri=str(synthetic.tmp / "parquet"))
    for split, seed in (("train", 0), ("eval", 100)):
        directory = synthetic.tmp / "parquet" / f"Split-{split}"
        directory.mkdir(parents=True)
        rows = 3_000 if split == "train" else 500
        pq.write_table(synthetic_table(rows, seed=seed),  # float64 sizes, string colours
                       directory / "data_parquet-00000-of-00001.parquet")
    parquet.split_names, parquet.span, parquet.version = ["train", "eval"], 0, 0
    from_parquet = run_transform(synthetic.tmp, "parquet_run", [parquet], synthetic.schema,
                                 synthetic.module, None)
    assert_same_transformed(from_parquet, synthetic.first)


# ---- bad input: clear errors, the run failed, upstream artifacts intact ----------------------

@pytest.fixture(scope="module")
def error_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pipeline root shared by the error cases, so their upstream nodes come from cache."""
    return tmp_path_factory.mktemp("transform_errors")


BAD_MODULES = {
    "module does not import": ("def preprocessing_fn(inputs)\n    return inputs\n",
                               ["cannot load the module file", ", line 1: SyntaxError"]),
    "function missing": ("def preprocesing_fn(inputs):\n    return inputs\n",
                         ["has no function 'preprocessing_fn'",
                          "Did you mean 'preprocesing_fn'?"]),
    "function raises": (textwrap.dedent("""
        def preprocessing_fn(inputs):
            raise ValueError("the flippers are upside down")
        """), ["raised ValueError at line 3", "the flippers are upside down"]),
    "feature not in schema": (textwrap.dedent("""
        import tensorflow_transform as tft

        def preprocessing_fn(inputs):
            return {"x": tft.scale_to_z_score(inputs["flipper_length"])}
        """), ["uses feature 'flipper_length', which is not in the schema",
               "Did you mean 'flipper_length_mm'?", "bill_depth_mm, bill_length_mm"]),
    "returns a non-tensor": ("def preprocessing_fn(inputs):\n    return {'x': 1.5}\n",
                             ["returned 'x' as a float, not a tensor"]),
    "returns a list": ("def preprocessing_fn(inputs):\n    return [inputs['year']]\n",
                       ["returned a list", "dict of feature name -> tensor"]),
}


@pytest.mark.parametrize("case", BAD_MODULES.values(), ids=BAD_MODULES.keys())
def test_a_bad_preprocessing_fn_fails_the_run_clearly(error_root: Path, tmp_path: Path,
                                                      case: tuple[str, list[str]]) -> None:
    source, expected = case
    module = tmp_path / "bad_preprocessing.py"
    module.write_text(source)
    result = LocalRunner(raise_on_failure=False).run(
        Pipeline("errors", penguin_nodes(module_file=str(module)), root=str(error_root)))
    assert result.failed == ["transform"]
    error = result["transform"].error or ""
    assert "ModuleFileError" in error and str(module) in error and "preprocessing_fn" in error
    for text in expected:
        assert text in error
    for node in ("csv_example_gen", "statistics_gen", "schema_gen"):
        assert result[node].succeeded
        assert all(a.state == LIVE and os.path.isdir(a.uri)
                   for arts in result[node].outputs.values() for a in arts)
    assert not any(os.path.isdir(a.uri) and os.listdir(a.uri)
                   for arts in result["transform"].outputs.values() for a in arts)


def test_a_missing_module_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.py"
    with pytest.raises(DefinitionError, match=r"nowhere\.py' does not exist"):
        LocalRunner().run(Pipeline("missing", penguin_nodes(module_file=str(missing)),
                                   root=str(tmp_path / "root")))
    with pytest.raises(ModuleFileError, match=re.escape(f"module file {missing} does not exist")):
        load_preprocessing_fn(str(missing), None, {})


def test_declaration_checks() -> None:
    with pytest.raises(ParameterTypeError, match=r"unknown key 'analyse'\. Did you mean 'analyze'"):
        penguin_nodes(module_file=PENGUIN_MODULE,
                      splits_config={"analyse": ["train"]})
    with pytest.raises(ParameterTypeError, match="give module_file="):
        penguin_nodes(preprocessing_fn="preprocessing_fn")



def test_the_declaration_imports_no_ml_library() -> None:
    probe = ("import sys; from conveyor.components.transform import Transform; "
             "print([m for m in ('tensorflow', 'tensorflow_transform', 'apache_beam', "
             "'tfx_bsl', 'pyarrow') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
