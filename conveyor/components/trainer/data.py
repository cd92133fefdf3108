"""The Trainer's :class:`~conveyor.components.trainer.args.DataAccessor` over Examples files.

``files`` are glob patterns (``TrainerArgs.train_files``), matching TFRecords of serialized
``tf.train.Example`` (``*.gz`` gzipped) or Parquet files, as ExampleGen and Transform write
them. Three views of the same rows:

- :meth:`ExamplesAccessor.tf_dataset`: a ``tf.data.Dataset`` parsed with the transformed
  feature spec of a tf.Transform output, or with the raw feature spec of the schema. Parquet
  rows are encoded to ``tf.Example`` with tfx-bsl's encoder first, so both payloads go through
  one parser. Shuffling is seeded (``seed``, else the Trainer's seed): same seed, same order.
- :meth:`ExamplesAccessor.record_batches`: Arrow record batches of list columns (as TFDV reads
  them), through :func:`conveyor.data.examples.read_batches`.
- :meth:`ExamplesAccessor.pandas`: one ``pandas.DataFrame``; single-valued list columns are
  flattened (a missing value becomes NaN/None), text is ``str``.

TensorFlow and tf.Transform are imported only by :meth:`tf_dataset` (and by reading TFRecords).
"""
from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from conveyor.components.trainer.args import DataAccessor
from conveyor.data.examples import SplitFiles, float32_lists, read_batches
from conveyor.data.layout import read_schema_file
from conveyor.errors import DataError

#: Examples held in memory while shuffling a TFRecord dataset; larger data is shuffled within
#: this window (as ``tf.data`` always does), which is enough for SGD.
SHUFFLE_BUFFER = 10_000


def resolve_files(files: Sequence[str]) -> SplitFiles:
    """The data files matched by the glob patterns ``files``, with how to read them.

    Raises :class:`DataError` when nothing matches or the files mix payloads.
    """
    if isinstance(files, str):
        files = [files]
    matched = sorted({path for pattern in files for path in glob.glob(pattern)
                      if os.path.isfile(path)
                      and not os.path.basename(path).startswith((".", "_"))})
    where = ", ".join(files)
    if not matched:
        raise DataError(f"no data file matches {where}; are these the file patterns of an "
                        f"Examples split (TrainerArgs.train_files / eval_files)?")
    directory = os.path.dirname(matched[0])
    parquet = [f for f in matched if f.endswith(".parquet")]
    if parquet and len(parquet) != len(matched):
        raise DataError(f"{where} match both Parquet and other files; read one format at a time")
    if parquet:
        return SplitFiles(where, directory, tuple(matched), "parquet")
    gzipped = [f for f in matched if f.endswith(".gz")]
    if gzipped and len(gzipped) != len(matched):
        raise DataError(f"{where} match both gzipped (.gz) and uncompressed TFRecord files")
    return SplitFiles(where, directory, tuple(matched), "tfrecord", "GZIP" if gzipped else "")


class ExamplesAccessor(DataAccessor):
    """Reads Examples for a ``run_fn``.

    ``schema_file`` (a ``schema.pbtxt``) gives the raw feature spec when no tf.Transform output
    is passed to :meth:`tf_dataset`; ``seed`` is the default shuffling seed.
    """

    def __init__(self, *, schema_file: str | None = None, seed: int = 0) -> None:
        self.schema_file = schema_file
        self.seed = seed

    # ---- TensorFlow ------------------------------------------------------------------------

    def feature_spec(self, transform_output: str | None = None) -> dict[str, Any]:
        """The ``tf.io`` feature spec the data is parsed with: the transformed spec of
        ``transform_output``, else the raw spec of the schema."""
        if transform_output is not None:
            from tensorflow_transform.output_wrapper import TFTransformOutput

            try:
                spec = TFTransformOutput(transform_output).transformed_feature_spec()
            except (OSError, ValueError) as err:
                raise DataError(f"{transform_output} is not a tf.Transform output directory "
                                f"(transform_fn/ and transformed_metadata/): {err}") from err
            return dict(spec)
        if self.schema_file is None:
            raise DataError("no feature spec to parse tf.Examples with: wire a schema "
                            "(Trainer(schema=...)) or pass transform_output= (Trainer("
                            "transform_graph=...)) to tf_dataset")
        from tensorflow_transform.tf_metadata import schema_utils

        schema = read_schema_file(self.schema_file)
        return dict(schema_utils.schema_as_feature_spec(schema).feature_spec)

    def tf_dataset(self, files: Sequence[str], *, batch_size: int,
                   label_key: str | None = None, transform_output: str | None = None,
                   shuffle: bool = True, num_epochs: int | None = None,
                   seed: int | None = None) -> Any:
        import tensorflow as tf

        spec = self.feature_spec(transform_output)
        if label_key is not None and label_key not in spec:
            made = "the transformed data" if transform_output else "the schema"
            raise DataError(f"label '{label_key}' is not a feature of {made} (features: "
                            f"{', '.join(sorted(spec))}); pass one of these as label_key"
                            + (", e.g. the transformed name of the label"
                               if transform_output else ""))
        found = resolve_files(files)
        records = self._serialized(found)
        self._check_features(found, records, spec, transform_output)
        if shuffle:
            records = records.shuffle(SHUFFLE_BUFFER, seed=self.seed if seed is None else seed,
                                      reshuffle_each_iteration=True)
        records = records.repeat(num_epochs).batch(batch_size)

        def parse(serialized: Any) -> Any:
            features = tf.io.parse_example(serialized, spec)
            if label_key is None:
                return features
            label = features.pop(label_key)
            return features, label

        return records.map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                           deterministic=True).prefetch(tf.data.AUTOTUNE)

    @staticmethod
    def _check_features(found: SplitFiles, records: Any, spec: dict[str, Any],
                        transform_output: str | None) -> None:
        """Fail now, naming the files, when the first example lacks a feature the spec requires
        (rather than deep inside training with TensorFlow's parse error)."""
        import tensorflow as tf

        required = {name for name, feature in spec.items()
                    if isinstance(feature, tf.io.FixedLenFeature) and feature.default_value is None}
        for serialized in records.take(1):
            present = set(tf.train.Example.FromString(serialized.numpy()).features.feature)
            missing = sorted(required - present)
            if missing:
                hint = ("are they Transform's transformed_examples? (with transform_graph wired, "
                        "the Trainer's examples must be)" if transform_output else
                        "does the schema describe this data?")
                raise DataError(f"{found.split}: the examples lack feature(s) "
                                f"{', '.join(missing)} that the feature spec requires (they "
                                f"hold {', '.join(sorted(present))}); {hint}")

    @staticmethod
    def _serialized(found: SplitFiles) -> Any:
        import tensorflow as tf

        if found.payload == "tfrecord":
            return tf.data.TFRecordDataset(list(found.files), compression_type=found.compression)
        from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

        encoder = RecordBatchToExamplesEncoder()
        records: list[bytes] = []
        for batch in read_batches(found):
            records.extend(encoder.encode(float32_lists(batch)))
        return tf.data.Dataset.from_tensor_slices(tf.constant(records, dtype=tf.string))

    # ---- Arrow and pandas ------------------------------------------------------------------

    def record_batches(self, files: Sequence[str], *,
                       batch_rows: int = 20_000) -> Iterator[pa.RecordBatch]:
        yield from read_batches(resolve_files(files), batch_rows)

    def pandas(self, files: Sequence[str]) -> Any:
        found = resolve_files(files)
        batches = list(read_batches(found))
        if not batches:
            raise DataError(f"{found.split} hold no rows")
        table = pa.Table.from_batches(batches) if len({b.schema for b in batches}) == 1 \
            else pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote=True)
        flat = {name: _flatten(table.column(name).combine_chunks())
                for name in table.column_names}
        return pa.table(flat).to_pandas()


def _flatten(column: pa.Array) -> pa.Array:
    """A list column of at most one value per row as a flat column (an empty or null list is a
    null); columns with longer lists stay lists. Binary becomes text when it is UTF-8."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        lengths = pc.list_value_length(column).fill_null(0)
        if pc.max(lengths).as_py() in (None, 0, 1):
            column = _first_or_null(column, lengths)
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        try:
            column = column.cast(pa.large_string())
        except pa.ArrowInvalid:
            pass  # not UTF-8: leave the bytes as they are
    return column


def _first_or_null(column: pa.Array, lengths: pa.Array) -> pa.Array:
    """The single value of each list, null where the list is empty or null."""
    values = column.flatten()
    present = pc.greater(lengths, 0)
    # Indices into the flattened values for present rows; a placeholder for missing ones.
    positions = pc.subtract(pc.cumulative_sum(lengths), 1)
    taken = values.take(pc.if_else(present, positions, 0)) if len(values) else \
        pa.nulls(len(column), values.type)
    return pc.if_else(present, taken, pa.scalar(None, values.type))


