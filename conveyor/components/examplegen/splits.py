"""Deterministic assignment of rows to hash-bucket splits, vectorised over Arrow batches.

Each row gets a 64-bit hash; with splits ``{"train": 2, "eval": 1}`` a row whose
``hash % 3`` is 0 or 1 goes to ``train`` and 2 to ``eval`` (TFX's bucket rule). The hash is a
pure function of the row's values and its columns' kinds, so the assignment is the same across
runs, processes, runners and batch boundaries (never Python's salted ``hash()``):

* ``int``: SplitMix64 of the value; ``float``: SplitMix64 of the float32 bit pattern (the value as
  stored in a tf.Example; -0.0 as 0.0, every NaN alike); ``bytes``: a polynomial hash modulo
  2**64 of the bytes (base :data:`_BASE`), mixed with the length through SplitMix64; lists:
  the same over their values, combined in order; missing values: :data:`_NULL`.
* A row (``partition_feature=None``) combines its columns' hashes in column order; with a
  partition feature only that column's hash counts, so equal values share a split.

TFX hashes each serialized record with SHA-256 (older versions with farmhash) one row at a time
in Python; that costs about a microsecond a row, more than all the rest of ExampleGen, and
pyfarmhash cannot hash bytes containing NUL. These hashes run as numpy array operations.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from conveyor.errors import DataError

_BASE = np.uint64(0x100000001B3)
_NULL = np.uint64(0x9E3779B97F4A7C15)
_ROW_SEED = np.uint64(0x2545F4914F6CDD1D)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TAG = {"int": np.uint64(1), "float": np.uint64(2), "bytes": np.uint64(3)}


def mix(z: NDArray[Any]) -> NDArray[Any]:
    """SplitMix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = z.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return z


def hash_bytes(offsets: NDArray[Any], data: NDArray[Any]) -> NDArray[Any]:
    """Hashes of the byte strings ``data[offsets[i]:offsets[i + 1]]``."""
    count = len(offsets) - 1
    if count <= 0:
        return np.zeros(0, np.uint64)
    if int(offsets[-1] - offsets[0]) > _SLICE_BYTES and count > 1:
        # Bound the per-byte temporaries (8 bytes each) on long text.
        middle = count // 2
        return np.concatenate([hash_bytes(offsets[:middle + 1], data),
                               hash_bytes(offsets[middle:], data)])
    lengths = np.diff(offsets).astype(np.int64)
    starts = offsets[:-1].astype(np.int64) - int(offsets[0])
    with np.errstate(over="ignore"):
        position = np.arange(int(offsets[-1] - offsets[0]), dtype=np.int64) \
            - np.repeat(starts, lengths)
        terms = (data[int(offsets[0]):int(offsets[-1])].astype(np.uint64) + np.uint64(1)) \
            * _powers(int(lengths.max()))[position]
        sums = np.concatenate([np.zeros(1, np.uint64), np.cumsum(terms, dtype=np.uint64)])
        per_string = sums[starts + lengths] - sums[starts]
        return mix(per_string ^ (lengths.astype(np.uint64) * _M2) ^ _TAG["bytes"])


_SLICE_BYTES = 1 << 22
_power_table = np.ones(1, np.uint64)


def _powers(length: int) -> NDArray[Any]:
    """``_BASE ** i`` for ``i < length`` (wrapping), from a table grown on demand."""
    global _power_table
    with np.errstate(over="ignore"):
        while len(_power_table) < length:
            # Doubling: the upper half is the lower half times _BASE ** len(lower half).
            _power_table = np.concatenate([_power_table,
                                           _power_table * (_power_table[-1] * _BASE)])
    return _power_table


def hash_column(array: pa.Array) -> NDArray[Any]:
    """Per-row hashes of a normalised column (see the module docstring)."""
    kind = array.type
    if pa.types.is_list(kind):
        return _hash_list(array)
    if pa.types.is_null(kind):
        return np.full(len(array), _NULL, np.uint64)
    if pa.types.is_integer(kind):
        values = array.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        hashed = mix(values.view(np.uint64) ^ _TAG["int"])
    elif pa.types.is_floating(kind):
        values = array.fill_null(0.0).to_numpy(zero_copy_only=False).astype(np.float32)
        values = np.where(np.isnan(values), np.float32("nan"), values + np.float32(0.0))
        hashed = mix(values.view(np.uint32).astype(np.uint64) ^ (_TAG["float"] << np.uint64(32)))
    else:
        hashed = _hash_text(array)
    if array.null_count:
        hashed[np.asarray(array.is_null())] = _NULL
    return hashed


def _hash_text(array: pa.Array) -> NDArray[Any]:
    if len(array) >= 4096:
        # Categories repeat: hash each distinct value once.
        encoded = array.dictionary_encode()
        if 0 < len(encoded.dictionary) * 2 < len(array):
            indices = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)
            hashed: NDArray[Any] = hash_bytes(*binary_buffers(encoded.dictionary))[indices]
            return hashed
    return hash_bytes(*binary_buffers(array))


def _hash_list(array: pa.ListArray) -> NDArray[Any]:
    lengths = np.diff(np.asarray(array.offsets)).astype(np.int64)
    item = hash_column(array.flatten())
    rows = np.repeat(np.arange(len(array)), lengths)
    combined = np.full(len(array), _ROW_SEED, np.uint64)
    order = np.arange(len(item)) - np.repeat(np.asarray(array.offsets)[:-1], lengths)
    with np.errstate(over="ignore"):
        # A list hash must depend on order: weight each item by its position before summing.
        weighted = mix(item ^ order.astype(np.uint64))
        np.add.at(combined, rows, weighted)
    hashed = mix(combined ^ lengths.astype(np.uint64))
    if array.null_count:
        hashed[np.asarray(array.is_null())] = _NULL
    return hashed


def binary_buffers(array: pa.Array) -> tuple[NDArray[Any], NDArray[Any]]:
    """``(offsets, data)`` of a string or binary array as numpy views (no copy); offsets are
    absolute positions in ``data`` (the array may be a slice)."""
    if array.type not in (pa.string(), pa.binary()):
        array = array.cast(pa.binary())
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, len(array) + 1, array.offset * 4)
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None \
        else np.zeros(0, np.uint8)
    return offsets, data


def hash_rows(batch: pa.RecordBatch, partition_feature: str | None, where: str) -> NDArray[Any]:
    """Per-row hashes of ``batch``: of the whole row, or of ``partition_feature`` only."""
    if partition_feature is not None:
        if partition_feature not in batch.schema.names:
            raise DataError(f"{where}: partition_feature '{partition_feature}' is not a column; "
                            f"columns: {', '.join(batch.schema.names)}")
        return hash_column(batch.column(partition_feature))
    combined = np.full(batch.num_rows, _ROW_SEED, np.uint64)
    with np.errstate(over="ignore"):
        for column in batch.columns:
            combined = mix(combined * _M1 + hash_column(column))
    return combined


def assign(hashes: NDArray[Any], buckets: list[int]) -> NDArray[Any]:
    """The split index of each hash, for per-split bucket counts ``buckets`` (in order)."""
    bounds = np.cumsum(np.asarray(buckets, np.uint64))
    found: NDArray[Any] = np.searchsorted(bounds, hashes % bounds[-1], side="right")
    return found
