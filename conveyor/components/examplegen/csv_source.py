"""CSV input: planning files into byte-range chunks, and reading one chunk into Arrow batches.

Planning (in the launching process) reads only each file's first line and a few bytes around
each chunk boundary: it rejects empty and header-only files and files whose columns differ, and
cuts every file into chunks of about :data:`CHUNK_BYTES` ending at line breaks, so one large
file is read by several workers at once.

Reading a chunk (on a Beam worker) parses it with pyarrow's multi-threaded CSV reader. Bad rows
are rare, so finding their line numbers is done only when there are some: the chunk's text is
scanned again with Python's ``csv`` module, and the lines before the chunk are counted.

Gzipped files (``*.gz``, e.g. ``data.csv.gz``) are inflated while they are read. A gzip stream
cannot be entered in the middle, so such a file is one work item, a :data:`STREAM` chunk, read
in blocks of about :data:`CHUNK_BYTES` of text that end at line breaks: memory stays bounded,
and several gzipped files still convert in parallel. Offsets and line numbers count the
inflated text.
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pacsv

from conveyor.components.examplegen import columns, storage
from conveyor.components.examplegen.spans import InputFile
from conveyor.errors import DataError

#: Target size of one chunk of a CSV file (a Beam element).
CHUNK_BYTES = 16 << 20
#: Rows per Arrow batch handed on from a chunk.
BATCH_ROWS = 65_536
_PROBE = 1 << 16
#: ``Chunk.end`` of a gzipped file: everything after the header, read as a stream.
STREAM = -1


@dataclass(frozen=True)
class Chunk:
    """Bytes ``[start, end)`` of ``path`` (of its inflated text, if gzipped): whole data lines
    (never the header line). ``end`` is :data:`STREAM` for a gzipped file read whole."""

    path: str
    start: int
    end: int
    header: tuple[str, ...]


@dataclass
class BadRow:
    """A row that could not be read: where it is, why, and its text."""

    file: str
    line: int | None
    reason: str
    text: str

    def describe(self) -> str:
        """``file:line: reason: text`` for error messages."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}: {self.text[:120]!r}"


@dataclass
class ChunkRead:
    """What reading a chunk gave: batches of good rows, and the bad rows set aside."""

    batches: list[pa.RecordBatch]
    bad_rows: list[BadRow] = field(default_factory=list)


def is_gzipped(path: str) -> bool:
    """Whether ``path`` is read as gzip (by its name: ``*.gz``)."""
    return path.endswith(".gz")


@contextlib.contextmanager
def _open(path: str) -> Iterator[io.BufferedIOBase]:
    """``path``'s bytes; inflated if it is gzipped."""
    with storage.open_read(path) as handle:
        if not is_gzipped(path):
            yield handle  # type: ignore[misc]
            return
        with gzip.GzipFile(fileobj=handle, mode="rb") as inflated:
            try:
                yield inflated
            except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
                raise DataError(f"{path}: cannot inflate the gzip file ({err}); is it a "
                                f"complete gzip file?") from err


def _read_range(path: str, start: int, end: int) -> bytes:
    with _open(path) as handle:
        try:
            handle.seek(start)
            return handle.read() if end == STREAM else handle.read(end - start)
        except (OSError, EOFError) as err:
            raise DataError(f"{path}: cannot inflate the gzip file ({err}); is it a complete "
                            f"gzip file?") from err


def read_header(file: InputFile, delimiter: str, encoding: str) -> tuple[tuple[str, ...], int]:
    """The column names on the first line of ``file`` and the offset just after that line."""
    if file.size == 0:
        raise DataError(f"{file.path}: the file is empty; expected a header line and rows")
    head = b""
    with _open(file.path) as handle:
        while b"\n" not in head:
            try:
                block = handle.read(_PROBE)
            except (OSError, EOFError) as err:
                raise DataError(f"{file.path}: cannot inflate the gzip file ({err}); is it a "
                                f"complete gzip file?") from err
            if not block:
                break
            head += block
    if not head:
        raise DataError(f"{file.path}: the file is empty; expected a header line and rows")
    end = head.find(b"\n")
    line = head if end < 0 else head[:end]
    offset = len(head) if end < 0 else end + 1
    try:
        text = line.decode(encoding).rstrip("\r")
    except UnicodeDecodeError as err:
        raise DataError(f"{file.path}:1: the header is not valid {encoding} (byte "
                        f"{err.start}); re-encode the file or pass encoding=...") from err
    names = next(csv.reader([text], delimiter=delimiter), [])
    names = [n.strip() for n in names]
    if not any(names):
        raise DataError(f"{file.path}:1: the first line is empty; expected a header line of "
                        f"column names")
    for position, name in enumerate(names):
        if not name:
            raise DataError(f"{file.path}:1: column {position + 1} of the header has no name")
        if names.count(name) > 1:
            raise DataError(f"{file.path}:1: column '{name}' appears twice in the header")
    return tuple(names), offset


def plan(files: list[InputFile], delimiter: str, encoding: str) -> list[Chunk]:
    """Cut ``files`` into chunks; raises :class:`DataError` for empty or header-only files."""
    chunks: list[Chunk] = []
    for file in files:
        header, data_start = read_header(file, delimiter, encoding)
        if not _has_rows(file, data_start):
            raise DataError(f"{file.path}: the file has a header (line 1) but no rows")
        if is_gzipped(file.path):
            chunks.append(Chunk(file.path, data_start, STREAM, header))
            continue
        start = data_start
        while start < file.size:
            end = _line_end_after(file, start + CHUNK_BYTES)
            chunks.append(Chunk(file.path, start, end, header))
            start = end
    return chunks


def _has_rows(file: InputFile, data_start: int) -> bool:
    rest = _read_range(file.path, data_start, data_start + _PROBE)
    return bool(rest.strip())


def _line_end_after(file: InputFile, position: int) -> int:
    """The offset just after the first line break at or after ``position`` (or the file end)."""
    if position >= file.size:
        return file.size
    with storage.open_read(file.path) as handle:
        handle.seek(position)
        while True:
            block = handle.read(_PROBE)
            if not block:
                return file.size
            found = block.find(b"\n")
            if found >= 0:
                return position + found + 1
            position += len(block)


def first_line_of(chunk: Chunk) -> int:
    """The 1-based line number of the chunk's first line (counts the lines before it)."""
    count, position = 0, 0
    with _open(chunk.path) as handle:
        while position < chunk.start:
            block = handle.read(min(CHUNK_BYTES, chunk.start - position))
            if not block:
                break
            count += block.count(b"\n")
            position += len(block)
    return count + 1


def read_chunks(chunk: Chunk, delimiter: str, encoding: str, null_values: list[str] | None,
                quarantine: bool, kinds: Mapping[str, str] | None) -> Iterator[ChunkRead]:
    """:func:`read_chunk` of ``chunk``, or of each block of a :data:`STREAM` chunk in turn."""
    if chunk.end != STREAM:
        yield read_chunk(chunk, delimiter, encoding, null_values, quarantine, kinds)
        return
    with _open(chunk.path) as handle:
        handle.seek(chunk.start)
        position, carry = chunk.start, b""
        while True:
            block = handle.read(CHUNK_BYTES)
            data = carry + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            piece, carry = data[:cut], data[cut:]
            if piece.strip():
                yield _parse_text(Chunk(chunk.path, position, position + len(piece),
                                        chunk.header), piece, delimiter, encoding,
                                  null_values, quarantine, kinds)
            position += len(piece)
            if not block:
                return


def read_chunk(chunk: Chunk, delimiter: str, encoding: str, null_values: list[str] | None,
               quarantine: bool, kinds: Mapping[str, str] | None) -> ChunkRead:
    """Parse ``chunk`` into batches of normalised columns.

    ``null_values`` are the texts read as a missing value (``None``: pyarrow's list, e.g.
    ``""``, ``NA``, ``N/A``, ``NULL``, ``NaN``). ``kinds`` forces each column's kind (a second
    pass, once kinds are known across all chunks); otherwise they are inferred. Bad rows raise
    :class:`DataError` naming file and line, or with ``quarantine`` are returned and left out
    of the batches.
    """
    return _parse_text(chunk, _read_range(chunk.path, chunk.start, chunk.end), delimiter,
                       encoding, null_values, quarantine, kinds)


def _parse_text(chunk: Chunk, data: bytes, delimiter: str, encoding: str,
                null_values: list[str] | None, quarantine: bool,
                kinds: Mapping[str, str] | None) -> ChunkRead:
    bad: list[BadRow] = []
    undecodable = _undecodable_lines(data, encoding)
    if undecodable:
        bad.extend(_locate_undecodable(chunk, data, undecodable, encoding))
        if not quarantine:
            raise DataError(bad[0].describe() + "; re-encode the file or pass encoding=...")
        lines = data.split(b"\n")
        data = b"\n".join(b"" if i in undecodable else line for i, line in enumerate(lines))
    forced = {name: columns.arrow_type("bytes" if kind == "null" else kind)
              for name, kind in (kinds or {}).items()}
    forced = {name: pa.string() if t == pa.binary() else t for name, t in forced.items()}
    table, ragged = _parse(data, chunk.header, delimiter, encoding, null_values, forced)
    unusual = [name for name, t in zip(table.schema.names, table.schema.types, strict=True)
               if pa.types.is_temporal(t)]
    if unusual:
        # Dates and times stay text, as written (tf.Example has no date type).
        table, ragged = _parse(data, chunk.header, delimiter, encoding, null_values,
                               {**forced, **{name: pa.string() for name in unusual}})
    if ragged:
        located = _locate_ragged(chunk, data.decode(encoding, errors="replace"), delimiter)
        bad.extend(located or [BadRow(chunk.path, None, "wrong number of fields", text)
                               for text in ragged])
        if not quarantine:
            raise DataError(bad[0].describe() + f"; every row needs {len(chunk.header)} fields")
    arrays = [columns.normalize(c.combine_chunks()) for c in table.columns]
    table = pa.Table.from_arrays(arrays, names=list(chunk.header))
    return ChunkRead(table.to_batches(max_chunksize=BATCH_ROWS), bad)


def _parse(data: bytes, header: tuple[str, ...], delimiter: str, encoding: str,
           null_values: list[str] | None, forced: Mapping[str, pa.DataType],
           ) -> tuple[pa.Table, list[str]]:
    ragged: list[str] = []

    def set_aside(row: pacsv.InvalidRow) -> str:
        ragged.append(row.text)
        return "skip"

    nulls = {} if null_values is None else {"null_values": null_values}
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=list(header), encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=set_aside),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(forced), strings_can_be_null=True, true_values=[],
            false_values=[], **nulls),
    )
    return table, ragged


def _undecodable_lines(data: bytes, encoding: str) -> set[int]:
    try:
        data.decode(encoding)
        return set()
    except UnicodeDecodeError:
        pass
    bad = set()
    for number, line in enumerate(data.split(b"\n")):
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            bad.add(number)
    return bad


def _locate_undecodable(chunk: Chunk, data: bytes, lines: set[int],
                        encoding: str) -> list[BadRow]:
    first = first_line_of(chunk)
    raw = data.split(b"\n")
    found = []
    for number in sorted(lines):
        try:
            raw[number].decode(encoding)
        except UnicodeDecodeError as err:
            found.append(BadRow(chunk.path, first + number,
                                f"bytes that are not valid {encoding} at column {err.start + 1}",
                                raw[number].decode(encoding, errors="replace")))
    return found


def _locate_ragged(chunk: Chunk, text: str, delimiter: str) -> list[BadRow]:
    """Rows of ``text`` whose field count differs from the header's, with their lines."""
    first = first_line_of(chunk)
    lines = text.split("\n")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    found, previous = [], 0
    expected = len(chunk.header)
    for row in reader:
        start, previous = previous, reader.line_num
        if row and len(row) != expected:
            found.append(BadRow(chunk.path, first + start,
                                f"expected {expected} fields, found {len(row)}",
                                "\n".join(lines[start:reader.line_num]).rstrip("\r")))
    return found


def iter_batches(read: ChunkRead) -> Iterator[pa.RecordBatch]:
    """The batches of a chunk, skipping empty ones."""
    return (b for b in read.batches if b.num_rows)
