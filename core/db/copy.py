"""Rows as ``COPY ... FROM STDIN`` text: the indexer's bulk writes without per-value binary encoding.

asyncpg's ``copy_records_to_table`` speaks the binary format, which encodes every value through
a Python codec (``numeric`` alone costs microseconds a value). The text format is one ``%``
formatting per row; PostgreSQL parses it in C. The hazard of the text format is a value that
contains a delimiter: a tab, a newline, a carriage return or a backslash would move the row's
other values (and these values come from an RPC node). So each formatted line is checked for
those four characters, and a line that has any is formatted again with every text value escaped
(``\\``, ``\\t``, ``\\n``, ``\\r``). ``None`` is ``\\N``; anything else is written with ``str``
(ints, Decimals, ``True``/``False``, which PostgreSQL's boolean input accepts). With the columns'
SQL types, ``text[]``, ``jsonb`` and ``timestamptz`` values (lists, JSON values, datetimes) are formatted
as their types' literals first.

The backfill's fetch worker encodes the configured tables' records here (``CustomBatch.encoded``): a
table's records travel to the writer process as one ``bytes`` (``copy_payload``) instead of every field
pickled, unpickled and encoded again by asyncpg.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from core.db.pool import RawJson

_NULL = "\\N"
_HEX_WORDS = re.compile(r"0x[0-9a-fA-F]*(?:,0x[0-9a-fA-F]*)*")  # none empty, none NULL, nothing to quote
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
Value = str | int | Decimal | bool | None


def _field(value: Value) -> str:
    if value is None:
        return _NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    return str(value)


def _escaped_line(row: Sequence[Value]) -> str:
    return "\t".join(map(_field, row)) + "\n"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_array(value: Sequence[Any]) -> str:
    """A ``text[]`` literal: ``0x`` hex words (the usual topics) as they are, anything else quoted."""
    try:
        joined = ",".join(value)
    except TypeError:  # not all text
        joined = ""
    if _HEX_WORDS.fullmatch(joined) and joined.count(",") == len(value) - 1:  # no comma inside an item
        return "{" + joined + "}"
    return "{" + ",".join(_element(v) for v in value) + "}"


def jsonb(value: Any) -> str:
    return value if isinstance(value, RawJson) else json.dumps(value, separators=(",", ":"))


class _Times:
    """``timestamptz`` text of a datetime; a batch holds one per block, so each is formatted once."""

    def __init__(self) -> None:
        self.cache: dict[datetime, str] = {}

    def __call__(self, value: datetime) -> str:
        found = self.cache.get(value)
        if found is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            found = self.cache[value] = value.isoformat()
        return found


# Types whose values are not written by ``str``: formatted as their literal first (then escaped like text).
LITERALS: dict[str, Callable[[Any], str]] = {"text[]": text_array, "jsonb": jsonb, "timestamptz": _Times()}


def copy_text(rows: Iterable[Sequence[Any]], width: int, sql_types: Sequence[str] | None = None) -> bytes:
    """The rows (each ``width`` values) in COPY text format; ``sql_types`` (one a column) when some are
    ``text[]``, ``jsonb`` or ``timestamptz``."""
    template = "\t".join(["%s"] * width) + "\n"
    tabs = width - 1
    literals = [(i, LITERALS[t]) for i, t in enumerate(sql_types or ()) if t in LITERALS]
    lines = []
    for row in rows:
        if literals:
            row = list(row)  # noqa: PLW2901 (the row as its literals)
            for i, literal in literals:
                if row[i] is not None:
                    row[i] = literal(row[i])
        nulls = row.count(None)
        values = tuple(_NULL if v is None else v for v in row) if nulls else tuple(row)
        line = template % values
        # Each NULL adds one backslash; any other delimiter character means a value holds it.
        if line.count("\t") != tabs or line.count("\\") != nulls or "\r" in line or line.count("\n") != 1:
            line = _escaped_line(row)
        lines.append(line)
    return "".join(lines).encode()


CHUNK_ROWS = 2000  # rows formatted per chunk sent: PostgreSQL parses one while the next is formatted


async def _chunks(rows: Sequence[Sequence[Any]], width: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(rows), CHUNK_ROWS):
        yield copy_text(rows[offset : offset + CHUNK_ROWS], width)


async def copy_rows(
    conn: asyncpg.Connection,
    table: str,
    rows: Sequence[Sequence[Any]],
    columns: Sequence[str] | None = None,
    *,
    schema: str | None = None,
) -> None:
    """COPY ``rows`` into ``table`` (of ``schema``) in the text format: values of ``columns``, or of every
    column in order."""
    if rows:
        names = None if columns is None else list(columns)
        source = _chunks(rows, len(rows[0]) if names is None else len(names))
        await conn.copy_to_table(table, source=source, columns=names, schema_name=schema, format="text")


async def copy_payload(
    conn: asyncpg.Connection,
    table: str,
    data: bytes,
    columns: Sequence[str] | None = None,
    *,
    schema: str | None = None,
) -> None:
    """COPY rows already in the text format (``copy_text``) into ``table``: values of ``columns``, or of every
    column in order."""
    if data:  # a memoryview: asyncpg would take bytes for a file name
        names = None if columns is None else list(columns)
        await conn.copy_to_table(table, source=memoryview(data), columns=names, schema_name=schema, format="text")
