"""The fast numeric codec round-trips through PostgreSQL exactly like asyncpg's own."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from core.db import create_pool

VALUES: list[object] = [
    0, 1, -1, 9999, 10000, 10**18, 2**256 - 1, -(2**255), 123456789012345678901234567890,
    Decimal("0"), Decimal("1.5"), Decimal("-0.0001"), Decimal("12345.678900"), Decimal("1E+30"), Decimal("0.00000001"),
    Decimal("-98765432109876543210.0123456789"), Decimal("NaN"),
]  # fmt: skip


async def test_numeric_values_round_trip(db_url: str) -> None:
    fast = await create_pool(db_url, max_size=1, fast_numeric=True)
    plain = await create_pool(db_url, max_size=1)
    try:
        async with fast.acquire() as conn:
            await conn.execute("CREATE TABLE nums (i int, v numeric)")
            await conn.copy_records_to_table("nums", records=list(enumerate(VALUES)))
            texts = [r[0] for r in await conn.fetch("SELECT v::text FROM nums ORDER BY i")]
            decoded = [r[0] for r in await conn.fetch("SELECT v FROM nums ORDER BY i")]
        async with plain.acquire() as conn:
            expected = [await conn.fetchval("SELECT $1::numeric", Decimal(str(v))) for v in VALUES]
            expected_text = [await conn.fetchval("SELECT $1::numeric::text", Decimal(str(v))) for v in VALUES]
    finally:
        await fast.close()
        await plain.close()
    assert texts == expected_text
    assert decoded[:-1] == expected[:-1] and decoded[-1].is_nan()  # equal values (NaN is never equal)
    assert decoded[6] == 2**256 - 1 and isinstance(decoded[6], Decimal)


async def test_numeric_78_columns_take_the_largest_amounts(pool: asyncpg.Pool, db_url: str) -> None:
    fast = await create_pool(db_url, max_size=1, fast_numeric=True)
    try:
        value = await fast.fetchval("SELECT $1::numeric(78,0)", 2**256 - 1)
    finally:
        await fast.close()
    assert value == Decimal(2**256 - 1)
