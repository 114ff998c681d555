"""Rows as ``COPY ... FROM STDIN`` text: the indexer's bulk writes without per-value binary encoding.

asyncpg's ``copy_records_to_table`` speaks the binary format, which encodes every value through
a Python codec (``numeric`` alone costs microseconds a value). The text format is one ``%``
formatting per row; PostgreSQL parses it in C. The hazard of the text format is a value that
contains a delimiter: a tab, a newline, a carriage return or a backslash would move the row's
other values (and these values come from an RPC node). So each formatted line is checked for
those four characters, and a line that has any is formatted again with every text value escaped
(``\\``, ``\\t``, ``\\n``, ``\\r``). ``None`` is ``\\N``; anything else is written with ``str``
(ints, Decimals, ``True``/``False``, which PostgreSQL's boolean input accepts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

_NULL = "\\N"
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


def copy_text(rows: Iterable[Sequence[Value]], width: int) -> bytes:
    """The rows (each ``width`` values) in COPY text format."""
    template = "\t".join(["%s"] * width) + "\n"
    tabs = width - 1
    lines = []
    for row in rows:
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
