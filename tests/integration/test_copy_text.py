"""Rows COPYed in the text format arrive exactly as the binary format would write them."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from core.db.copy import CHUNK_ROWS, copy_rows, copy_text

# Values an RPC node controls can hold anything: delimiters must not move the other values.
HOSTILE = [
    "a\tb",
    "line\nbreak",
    "cr\rhere",
    "back\\slash",
    "ends with \\",
    "\\N",
    "\\.",
    '{"k": "v\\n"}',
    "ünïcödé",
    "",
]


def test_plain_rows_take_one_formatting_each() -> None:
    assert copy_text([(1, "0xab", 10**30, True), (2, "x", -5, False)], 4) == (
        b"1\t0xab\t1000000000000000000000000000000\tTrue\n2\tx\t-5\tFalse\n"
    )


def test_none_and_delimiters_are_escaped() -> None:
    assert copy_text([(None, "a\tb", "c\\", "d\ne\r")], 4) == b"\\N\ta\\tb\tc\\\\\td\\ne\\r\n"


async def test_round_trip(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE copied (i int, t text, n numeric(78, 0), d numeric, b boolean, j jsonb)")
        rows = [(i, s, 2**256 - 1 - i, Decimal("-1.25"), i % 2 == 0, '{"s": "\\t"}') for i, s in enumerate(HOSTILE)]
        rows.append((len(rows), None, None, None, None, None))
        many = [(1000 + i, f"0x{i:040x}", i, Decimal(i), False, "[]") for i in range(2 * CHUNK_ROWS + 1)]
        await copy_rows(conn, "copied", rows + many)
        await copy_rows(conn, "copied", [], ["i"])
        await copy_rows(conn, "copied", [(-1, "only")], ["i", "t"])
        got = await conn.fetch("SELECT i, t, n, d, b, j FROM copied ORDER BY i")
    assert [tuple(r) for r in got] == [
        (-1, "only", None, None, None, None),
        *((i, s, Decimal(n), d, b, {"s": "\t"}) for i, s, n, d, b, _ in rows[:-1]),
        (len(HOSTILE), None, None, None, None, None),
        *((i, s, Decimal(n), d, b, []) for i, s, n, d, b, _ in many),
    ]
