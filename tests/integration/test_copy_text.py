"""Rows COPYed in the text format arrive exactly as the binary format would write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from core.db.copy import CHUNK_ROWS, copy_payload, copy_rows, copy_text, text_array
from indexer.codec import EVENT_COLUMNS, EVENT_TYPES
from indexer.custom.sources import RAW_LOG_COLUMNS, RAW_LOG_TYPES

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


async def test_typed_literals_round_trip(pool: asyncpg.Pool) -> None:
    """text[], jsonb and timestamptz values (the raw log's topics, a configured table's arrays, block times)
    written as text arrive as the binary format writes them, hostile text included."""
    types = ["integer", "text[]", "jsonb", "timestamptz", "text"]
    moment = datetime(2026, 12, 3, 13, 44, 2, tzinfo=UTC)
    topics = ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", "0x" + "0" * 64]
    arrays: list[list[str | None]] = [
        topics,
        [],
        [*HOSTILE],
        ["NULL", "null", "a,b", "{x}", '"q"', " sp "],
        [None, "0x"],
    ]
    documents = [{"s": s, "n": ["1", 2]} for s in HOSTILE] + [[], "0xab", {"deep": [[{"k": None}]]}]
    rows = [(i, arrays[i % len(arrays)], documents[i % len(documents)], moment + timedelta(seconds=i), s)
            for i, s in enumerate(HOSTILE * 2)]  # fmt: skip
    rows.append((len(rows), None, None, None, None))
    async with pool.acquire() as conn:
        for name in ("as_text", "as_binary"):
            await conn.execute(f"CREATE TABLE {name} (i int, a text[], j jsonb, t timestamptz, s text)")
        await copy_payload(conn, "as_text", copy_text(rows, len(types), types), ["i", "a", "j", "t", "s"])
        await conn.copy_records_to_table("as_binary", records=rows)
        text = [tuple(r) for r in await conn.fetch("SELECT * FROM as_text ORDER BY i")]
        binary = [tuple(r) for r in await conn.fetch("SELECT * FROM as_binary ORDER BY i")]
    assert text == binary
    assert len(text) == len(rows) and text[0][1] == topics and text[3][1][0] == "NULL" and text[-1][1:] == (None,) * 4


def test_hex_topics_are_written_unquoted_and_anything_else_quoted() -> None:
    assert text_array(["0xab", "0xCD"]) == "{0xab,0xCD}"
    assert text_array([]) == "{}"
    assert text_array(["NULL"]) == '{"NULL"}'
    assert text_array(["0xab,0xcd"]) == '{"0xab,0xcd"}'  # one element, not two
    assert text_array(["0xa}"]) == '{"0xa}"}'
    assert text_array([None, 'x"\\']) == '{NULL,"x\\"\\\\"}'


async def test_the_type_lists_the_encoders_use_are_the_tables_types(pool: asyncpg.Pool) -> None:
    """The fetch worker encodes chain_events and custom_logs records by EVENT_TYPES and RAW_LOG_TYPES: they must
    say what the migrations made (a jsonb or text[] column written as plain text would be refused or wrong)."""
    names = {"timestamp with time zone": "timestamptz", "text[]": "text[]"}

    async def types(table: str, columns: list[str]) -> list[str]:
        rows = await pool.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
            table,
        )
        found = {r["attname"]: names.get(r["type"], r["type"]) for r in rows}
        return [found[c] for c in columns]

    assert await types("chain_events", EVENT_COLUMNS) == EVENT_TYPES
    assert await types("custom_logs", RAW_LOG_COLUMNS) == RAW_LOG_TYPES
