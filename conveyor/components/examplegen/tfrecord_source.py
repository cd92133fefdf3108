"""TFRecord input: reading records with TensorFlow's reader, and decoding them with tfx-bsl.

Records are read by ``tf.data.TFRecordDataset`` in batches of :data:`BATCH_RECORDS`, gzipped or
not as the file's first bytes say (the gzip magic number), and stay serialized unless a column is
needed (a partition feature, or Parquet output): then tfx-bsl's
``ExamplesToRecordBatchDecoder`` turns a batch of them into Arrow lists. TensorFlow reads local
paths and ``gs://`` itself but not every filesystem Beam knows, so a file elsewhere is first
copied to a local temporary file through Beam's ``FileSystems``.

A damaged file (a record whose CRC does not match, a cut-off file, a file that is not TFRecords
or not valid gzip) is a :class:`~conveyor.errors.DataError` naming the file, the number of the
first record that cannot be read and TensorFlow's own words (which give the byte offset, in the
uncompressed stream). TensorFlow's reader cannot resume past a damaged record, so this is an
error with ``bad_rows="quarantine"`` too. A gzip file cut between two records, which
TensorFlow's reader takes for a clean end, is caught by checking the gzip end marker. A record
that is not a tf.Example is reported by :func:`decode` with its number.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from conveyor.components.examplegen import columns, storage
from conveyor.errors import DataError

#: Records per batch.
BATCH_RECORDS = 32_768
_GZIP_MAGIC = b"\x1f\x8b"
_OP_NOISE = re.compile(r"^\{\{[^}]*\}\}\s*|\s*\[Op:[^\]]*\].*$", re.DOTALL)


@dataclass
class Records:
    """Serialized records read from a file; ``first`` is the 1-based number of the first."""

    records: list[bytes]
    first: int


def compression_of(path: str) -> str:
    """``"GZIP"`` when ``path`` starts with the gzip magic number, else ``""`` (none)."""
    with storage.open_read(path) as handle:
        return "GZIP" if handle.read(2) == _GZIP_MAGIC else ""


@contextlib.contextmanager
def _local_copy(path: str) -> Iterator[str]:
    """``path`` itself when local, else a local temporary copy of it."""
    if storage.is_local(path):
        yield path
        return
    handle, local = tempfile.mkstemp(suffix=".tfrecord")
    try:
        with os.fdopen(handle, "wb") as target, storage.open_read(path) as source:
            shutil.copyfileobj(source, target, 1 << 20)
        yield local
    finally:
        os.remove(local)


def _tf_message(err: Exception) -> str:
    """TensorFlow's error text without the op and function names around it."""
    text = str(getattr(err, "message", "") or err)
    return _OP_NOISE.sub("", text).strip() or type(err).__name__


def _damaged(path: str, local: str, compression: str, read_before: int) -> DataError:
    """The error for a file that cannot be read past some record after ``read_before``.

    A batch fails whole, so the records after the last good batch are read again one at a
    time (only on this error path) to find the number of the one TensorFlow rejects."""
    import tensorflow as tf

    number = read_before
    message = "the reader stopped"
    try:
        for _ in tf.data.TFRecordDataset(local, compression_type=compression).skip(read_before):
            number += 1
    except tf.errors.OpError as err:
        message = _tf_message(err)
    return DataError(f"{path}: record {number + 1}: the file is damaged, cut off or not a "
                     f"{'gzipped ' if compression else ''}TFRecord file ({message}); records "
                     f"after it cannot be read")


def read(path: str) -> Iterator[Records]:
    """Batches of serialized records of ``path``; raises :class:`DataError` when the file is
    damaged (see the module docstring)."""
    import tensorflow as tf

    compression = compression_of(path)
    with _local_copy(path) as local:
        dataset: Any = tf.data.TFRecordDataset(local, compression_type=compression,
                                               buffer_size=4 << 20)
        # Prefetching reads and inflates the next batch on a TensorFlow thread meanwhile.
        batches = iter(dataset.batch(BATCH_RECORDS).prefetch(2))
        number = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except tf.errors.OpError as err:
                raise _damaged(path, local, compression, number) from err
            records: list[bytes] = batch.numpy().tolist()
            yield Records(records, number + 1)
            number += len(records)
        if compression:
            _check_gzip_ends(path, local, number)


def _check_gzip_ends(path: str, local: str, records_read: int) -> None:
    """Fail unless the gzip stream of ``local`` ends properly. TensorFlow's reader stops quietly
    at a cut that falls between two records of the inflated stream, which would drop the rows
    after it without a word; zlib knows whether the stream reached its end marker."""
    inflater = zlib.decompressobj(wbits=31)
    with open(local, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            while block:
                inflater.decompress(block)
                # A gzip file may hold several members, one after the other.
                block = inflater.unused_data
                if block:
                    inflater = zlib.decompressobj(wbits=31)
    if not inflater.eof:
        raise DataError(f"{path}: record {records_read + 1}: the gzip stream is cut off after "
                        f"{records_read} records; the file is incomplete (re-copy or re-export "
                        f"it)")


def decode(records: list[bytes], first: int, path: str) -> pa.RecordBatch:
    """tf.Examples as an Arrow batch of list columns; raises :class:`DataError` naming the
    first record (numbered from ``first``) that is not a tf.Example."""
    from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

    decoder = ExamplesToRecordBatchDecoder()
    try:
        batch = decoder.DecodeBatch(records)
    except Exception as err:
        for position, record in enumerate(records):
            try:
                decoder.DecodeBatch([record])
            except Exception:
                raise DataError(f"{path}: record {first + position} is not a serialized "
                                f"tf.Example ({err})") from err
        raise DataError(f"{path}: records cannot be decoded as tf.Example: {err}") from err
    arrays = [columns.normalize(column) for column in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, batch.schema.names)
