"""Column kinds: the few value types a tf.Example can hold, and how Arrow columns map to them.

A column's *kind* is ``"int"`` (int64 feature), ``"float"`` (float feature; float32 in a
tf.Example, float64 in Parquet output), ``"bytes"`` (bytes feature; UTF-8 text or binary),
``"null"`` (no value seen yet) or ``"list<int>"``, ``"list<float>"``, ``"list<bytes>"`` for
multi-valued columns. Readers normalise every Arrow column with :func:`normalize`, so the rest
of ExampleGen only ever sees int64, float64, string/binary, null and lists of those.

Two rules join kinds: within one file, :func:`widen` infers the most general kind (an integer
column with one fraction is float, with one word is text), as a CSV reader must; between files,
spans and splits, :func:`join` allows only integer -> float widening and a missing column's
``null``, and anything else is a type change reported as a data error.
"""
from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

Kinds = dict[str, str]

_SCALAR_TYPES = {"int": pa.int64(), "float": pa.float64(), "bytes": pa.binary(), "null": pa.null()}


def kind_of(arrow_type: pa.DataType) -> str:
    """The kind of a normalised Arrow type."""
    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if (pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
            or pa.types.is_fixed_size_list(arrow_type)):
        inner = kind_of(arrow_type.value_type)
        if inner.startswith("list"):
            raise TypeError(f"nested list type {arrow_type} is not supported")
        return f"list<{'bytes' if inner == 'null' else inner}>"
    if pa.types.is_dictionary(arrow_type):
        return kind_of(arrow_type.value_type)
    if (pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type)
            or pa.types.is_union(arrow_type)):
        raise TypeError(f"type {arrow_type} is not supported; flatten it into scalar columns")
    return "bytes"


def normalize(array: pa.Array) -> pa.Array:
    """``array`` as int64, float64, string/binary, null, or a list of those."""
    kind = kind_of(array.type)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if kind.startswith("list"):
        values = array.flatten() if not pa.types.is_fixed_size_list(array.type) else None
        if values is None or pa.types.is_large_list(array.type) or \
                normalize(values).type != values.type:
            return array.cast(pa.list_(arrow_type(kind[5:-1])))
        return array
    if kind == "int" and array.type != pa.int64():
        return array.cast(pa.int64())
    if kind == "float" and array.type != pa.float64():
        return array.cast(pa.float64())
    if kind == "bytes":
        if pa.types.is_string(array.type) or pa.types.is_binary(array.type):
            return array
        if pa.types.is_large_string(array.type):
            return array.cast(pa.string())
        if pa.types.is_large_binary(array.type) or pa.types.is_fixed_size_binary(array.type):
            return array.cast(pa.binary())
        return pc.cast(array, pa.string())  # dates, timestamps, decimals: as their text
    return array


def arrow_type(kind: str) -> pa.DataType:
    """The normalised Arrow type of a kind (text is stored as binary)."""
    if kind.startswith("list<"):
        return pa.list_(arrow_type(kind[5:-1]))
    return _SCALAR_TYPES[kind]


def cast(array: pa.Array, kind: str) -> pa.Array:
    """A normalised ``array`` converted to ``kind`` (only widening conversions happen)."""
    if kind_of(array.type) == kind:
        return array
    if kind == "bytes" and kind_of(array.type) in ("int", "float", "null"):
        return pc.cast(array, pa.string())
    return array.cast(arrow_type(kind))


def widen(a: str, b: str) -> str:
    """The kind holding every value of kinds ``a`` and ``b`` (inference within one file)."""
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if {a, b} == {"int", "float"}:
        return "float"
    if {a, b} == {"list<int>", "list<float>"}:
        return "list<float>"
    return "list<bytes>" if a.startswith("list") and b.startswith("list") else "bytes"


def join(a: str, b: str) -> str | None:
    """The common kind of one column seen with kinds ``a`` and ``b`` in different files, spans
    or splits, or None when they conflict (numbers against text, scalars against lists)."""
    joined = widen(a, b)
    if joined in ("bytes", "list<bytes>") and "null" not in (a, b) and a != b:
        return None
    return joined


def describe(kinds: Mapping[str, str]) -> str:
    """``a:int, b:bytes`` for messages."""
    return ", ".join(f"{name}:{kind}" for name, kind in kinds.items())
