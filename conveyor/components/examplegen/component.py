"""ExampleGen declarations: CSV, Parquet, TFRecord (import) and SQL query sources.

Cheap to import: only :mod:`conveyor.dsl`, :mod:`conveyor.artifacts` and the pure-Python
parameter checks. The work is in :mod:`conveyor.components.examplegen.executor`.

Every ExampleGen writes one :class:`~conveyor.artifacts.Examples` artifact::

    {uri}/Split-{name}/data_tfrecord-00000-of-00003.gz   gzipped TFRecords of tf.train.Example
    {uri}/Split-{name}/data_parquet-00000-of-00003.parquet    (output_format="parquet")
    {uri}/quarantine.jsonl                                     (bad_rows="quarantine", if any)

with properties ``span`` (the latest span read), ``version`` (its version; 0 without
``{VERSION}``) and ``split_names``, and custom properties ``file_format``
(``tfrecords_gzip`` or ``parquet``, as TFX), ``payload_format``, ``spans`` (JSON list of every
span read), ``row_counts`` (JSON object split -> rows) and ``quarantined_rows``.

File sources read ``input_base``, a directory whose content is part of the cache key, so changed
data re-runs the node. Patterns are globs relative to it and may hold ``{SPAN}``, ``{VERSION}``
and ``{YYYY}{MM}{DD}``; see :mod:`conveyor.components.examplegen.options` for ``splits``,
``partition_feature``, ``split_patterns`` and ``span_range``.

Execution is a Beam pipeline: the in-process FnApiRunner with one thread per CPU unless the
pipeline's ``beam_args`` (or ``conveyor run --beam-arg=...``) choose another runner or running
mode, e.g. ``--direct_running_mode=multi_processing --direct_num_workers=4`` or
``--runner=DataflowRunner``. Rows are encoded by tfx-bsl and written by TensorFlow's TFRecord
writer, so a worker imports TensorFlow.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from conveyor.artifacts import Examples
from conveyor.components.examplegen.options import check_parameters
from conveyor.dsl import Channel, Component, Output, Parameter
from conveyor.errors import DefinitionError

OutputFormat = Literal["tfrecord", "parquet"]
BadRowPolicy = Literal["error", "quarantine"]


class _ExampleGen(Component):
    """Parameters shared by every ExampleGen (not a component itself)."""

    splits: dict[str, int] | None = Parameter(
        default=None, description="hash buckets per output split; default {'train': 2, 'eval': 1}")
    partition_feature: str | None = Parameter(
        default=None, description="hash this column instead of the whole row")
    output_format: OutputFormat = Parameter(
        default="tfrecord", description="'tfrecord' (gzipped tf.Example, as TFX) or 'parquet'")
    examples: Channel[Examples] = Output()

    if not TYPE_CHECKING:  # a type checker keeps the synthesized, keyword-typed constructor
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            check_parameters(f"{type(self).__name__} '{self.id}'", self.parameters)


class _FileExampleGen(_ExampleGen):
    """Parameters shared by the file-based ExampleGens (not a component itself)."""

    input_base: str = Parameter(
        external_files=True, description="directory holding the input files (fingerprinted)")
    pattern: str = Parameter(
        default="*", description="glob under input_base, may hold {SPAN}, {VERSION}, {YYYY}...")
    split_patterns: dict[str, str] | None = Parameter(
        default=None, description="one pattern per output split, instead of hash buckets")
    span_range: dict[str, int | str] | None = Parameter(
        default=None, description="spans to read; default the latest")
    bad_rows: BadRowPolicy = Parameter(
        default="error", description="'error', or 'quarantine' bad rows into the artifact")


class CsvExampleGen(_FileExampleGen):
    """Reads CSV files (a header line, then rows) into Examples; files named ``*.gz`` (e.g.
    ``data.csv.gz``) are gzipped CSV, inflated while read (each is one work item).

    Column types are inferred over all rows read (integer, float, else string; an empty field,
    ``NA``, ``N/A``, ``NULL`` or ``NaN`` is a missing value unless ``null_values`` says
    otherwise); integers widen to floats when another span or split has fractions, any
    other change between spans or splits is an error. Values may not contain line breaks. Bad
    rows (a wrong number of fields, bytes that are not ``encoding``) fail the node naming file
    and line, or with ``bad_rows="quarantine"`` are written to ``quarantine.jsonl``.
    """

    delimiter: str = Parameter(default=",", description="field separator")
    encoding: str = Parameter(default="utf-8", description="text encoding of the files")
    null_values: list[str] | None = Parameter(
        default=None, description="texts read as missing; default '', NA, N/A, NULL, NaN, ...")
    executor = "conveyor.components.examplegen.executor:run_csv"


class ParquetExampleGen(_FileExampleGen):
    """Reads Parquet files into Examples.

    Integer and boolean columns become int64 features, floating columns float features, strings,
    binaries, dates, timestamps and decimals bytes features (as text), and lists of those
    multi-valued features. Every file must have the same columns.
    """

    executor = "conveyor.components.examplegen.executor:run_parquet"


class ImportExampleGen(_FileExampleGen):
    """Imports TFRecord files of serialized tf.train.Example (gzipped or not, detected from the
    content) into Examples, re-split. A damaged file (a CRC mismatch, cut off, not TFRecords)
    fails the node naming the file and the first record that cannot be read, also with
    ``bad_rows="quarantine"``: TensorFlow's reader cannot resume past a damaged record. Records
    are decoded only for a ``partition_feature`` or Parquet output; one that is then not a
    tf.Example fails the node naming file and record number."""

    executor = "conveyor.components.examplegen.executor:run_tfrecord"


class QueryExampleGen(_ExampleGen):
    """Runs a SQL query through SQLAlchemy (any SQLAlchemy URL: ``sqlite:///data.db``,
    ``postgresql://...``) and writes its rows as Examples.

    ``{SPAN}`` in the query is replaced by ``span`` (e.g. ``WHERE day = {SPAN}``), which is also
    the artifact's span. A query result is not a file, so the cache cannot see the database
    change: ``data_files`` names files whose content is part of the cache key; for a SQLite URL
    it defaults to the database file. For a server database, pass a changing ``span`` or disable
    the cache. Column types come from the first rows; a later row of another type is an error
    (``CAST`` it in the query).
    """

    url: str = Parameter(description="SQLAlchemy database URL")
    query: str = Parameter(description="SELECT statement; {SPAN} is replaced by span")
    split_queries: dict[str, str] | None = Parameter(
        default=None, description="one query per output split, instead of hash buckets")
    span: int = Parameter(default=0, minimum=0, description="span of the rows read")
    data_files: str | None = Parameter(
        default=None, external_files=True,
        description="files whose content decides the cache (default: the SQLite file)")
    executor = "conveyor.components.examplegen.executor:run_query"

    if not TYPE_CHECKING:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            url = self.parameters.get("url")
            if self.parameters.get("data_files") is None and isinstance(url, str) \
                    and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
                self.parameters["data_files"] = url[len("sqlite:///"):].split("?")[0]
            if self.parameters.get("split_queries") is not None and (
                    self.parameters.get("splits") is not None
                    or self.parameters.get("partition_feature") is not None):
                raise DefinitionError(
                    f"QueryExampleGen '{self.id}': split_queries gives each split its own query; "
                    f"it cannot be combined with splits or partition_feature")
