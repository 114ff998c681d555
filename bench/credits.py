"""Credits ledger throughput: spends of 1 credit through ``CreditLedger.spend`` (row lock, idempotency key,
balanced entries), all on one user (serialized by the user's row lock) vs spread over 10 users, with
20 in flight on a pool of 10 connections. Prints spends/s and checks the books sum to zero.

``BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``): a server where
the benchmark may create (and drop) its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable

import asyncpg

from api.credits.service import CreditLedger
from core.db import create_pool
from core.db.migrate import apply_migrations

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def run(ledger: CreditLedger, label: str, pick: Callable[[int], int], n: int) -> float:
    gate = asyncio.Semaphore(20)

    async def one(i: int) -> None:
        async with gate:
            await ledger.spend(pick(i), 1, feature="bench", reference=None, key=f"{label}-{i}")

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description="credits ledger benchmark")
    parser.add_argument("--spends", type=int, default=2000)
    args = parser.parse_args()
    database = f"bench_credits_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    try:
        conn = await asyncpg.connect(dsn)
        await apply_migrations(conn)
        await conn.close()
        pool = await create_pool(dsn, max_size=10)
        ledger = CreditLedger(pool)
        users = [await pool.fetchval("INSERT INTO users DEFAULT VALUES RETURNING id") for _ in range(10)]
        for user in users:
            async with pool.acquire() as conn, conn.transaction():
                await ledger.grant(conn, user, 10**9, key=f"bench-grant-{user}")
        one_user = await run(ledger, "one", lambda i: users[0], args.spends)
        ten_users = await run(ledger, "ten", lambda i: users[i % 10], args.spends)
        books = await pool.fetchval("SELECT sum(amount) FROM credit_entries")
        await pool.close()
        print(f"{args.spends} spends of 1 credit, 20 in flight, pool of 10")
        print(f"one user (serialized by its row lock): {one_user:,.0f} spends/s")
        print(f"ten users: {ten_users:,.0f} spends/s ({ten_users / one_user:.1f}x)")
        print(f"sum of all entries: {books} (must be 0)")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
