"""SQL input through SQLAlchemy: one streamed query, turned into Arrow batches.

Rows are fetched ``BATCH_ROWS`` at a time with a server-side cursor where the database has one,
so memory stays bounded. A database row arrives as a Python tuple, so building columns from them
is the one per-row step of ExampleGen that cannot be vectorised.
"""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from conveyor.components.examplegen import columns
from conveyor.errors import DataError

#: Rows fetched from the database at a time.
BATCH_ROWS = 65_536


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:  # an unparseable URL is reported by create_engine itself
        return url.split("@")[-1]


def _column(values: tuple[Any, ...], name: str, where: str) -> pa.Array:
    if any(isinstance(v, (decimal.Decimal, datetime.date, datetime.time, datetime.timedelta))
           for v in values):
        values = tuple(v if v is None or isinstance(v, (bool, int, float, str, bytes))
                       else (float(v) if isinstance(v, decimal.Decimal) else str(v))
                       for v in values)
    try:
        return columns.normalize(pa.array(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise DataError(f"{where}: column '{name}' mixes value types in one batch ({err}); "
                        f"CAST it to one type in the query") from err


def read(url: str, query: str, kinds: Mapping[str, str] | None, where: str,
         ) -> Iterator[pa.RecordBatch]:
    """Batches of the query's rows; raises :class:`DataError` when the query fails or returns
    no rows."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url)
    except Exception as err:
        raise DataError(f"{where}: cannot use database URL {describe_url(url)!r}: {err}") from err
    rows_seen = 0
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(
                sqlalchemy.text(query))
            names = list(result.keys())
            while True:
                rows = result.fetchmany(BATCH_ROWS)
                if not rows:
                    break
                arrays = [_column(values, name, where)
                          for values, name in zip(zip(*rows, strict=True), names, strict=True)]
                if kinds:
                    arrays = [columns.cast(a, kinds[n]) for a, n in zip(arrays, names,
                                                                        strict=True)]
                rows_seen += len(rows)
                yield pa.RecordBatch.from_arrays(arrays, names)
    except sqlalchemy.exc.SQLAlchemyError as err:
        detail = getattr(err, "orig", None) or err
        raise DataError(f"{where}: the query failed on {describe_url(url)}: {detail}. "
                        f"Query: {query.strip()[:300]}") from err
    finally:
        engine.dispose()
    if rows_seen == 0:
        raise DataError(f"{where}: the query returned no rows on {describe_url(url)}. Query: "
                        f"{query.strip()[:300]}")
