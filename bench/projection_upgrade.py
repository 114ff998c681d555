"""Projection upgrade benchmark: the set-based rebuild of ``token_balances`` against the live write path.

``python -m bench.projection_upgrade [--events 2000000] [--accounts 50000] [--live-events 200000]
[--configured-events 500000] [--configured-live-events 100000]``

Synthesizes the raw log directly in Postgres (anvil would take hours for 2M events): ``--accounts``
mints from the zero address, then ERC-20 ``Transfer`` rows in ``chain_events`` between random
accounts, 20 logs per block, with the args as the indexer stores them (``from``/``to`` addresses,
``value`` as a decimal string). Then, in the same run, it prints:

- **upgrade**: ``indexer.upgrade.swap.upgrade`` of a changed ``token_balances`` definition (build
  beside from ``chain_events`` with one GROUP BY, catch up under the write locks, swap): events/s;
- **live**: the write path the running indexer and ``replay`` use (``Projections.apply`` per
  20,000-event page: transfers COPY, balance upserts), over the first ``--live-events`` events, in
  a rolled-back transaction: events/s; and the ratio of the two.

Then the same for a configured contract's table (``bench/configured_upgrade.py``): a renamed column
rebuilt beside from ``custom_logs`` and swapped, against the configured live write path (decode +
COPY), over ``--configured-events`` synthesized raw logs (0: skipped; ``--events 0`` skips the first part).

Needs PostgreSQL at ``BENCH_DATABASE_URL`` (default: the tests' server); creates and drops its own
database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import asyncpg

from bench import configured_upgrade
from core.db import create_pool
from core.db.migrate import migrate
from indexer.decode import stored_logs
from indexer.projections import Projections
from indexer.store import QUERIES
from indexer.upgrade import definition, swap

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHAIN = 31337
TOKENS = {"Coin": ("from", "to", "value")}
TOKEN = "0x" + "c0" * 20

SYNTHESIZE = """
INSERT INTO chain_events (chain_id, block_number, block_hash, tx_hash, log_index, address, contract, event, args)
SELECT $1, g / 20, 'h' || (g / 20), 't' || g, g % 20, $2, 'Coin', 'Transfer',
       CASE WHEN g < $4 THEN jsonb_build_object(
                'from', '0x0000000000000000000000000000000000000000',
                'to', '0x' || lpad(to_hex(g), 40, '0'), 'value', '1000000000000000000000')
            ELSE jsonb_build_object(
                'from', '0x' || lpad(to_hex((hashint4(g) & 2147483647) % $4), 40, '0'),
                'to', '0x' || lpad(to_hex((hashint4(g + 7) & 2147483647) % $4), 40, '0'),
                'value', (1 + (hashint4(g + 13) & 1048575))::text) END
FROM generate_series(0, $3 - 1) AS g
"""


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.projection_upgrade")
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--live-events", type=int, default=200_000)
    parser.add_argument("--configured-events", type=int, default=500_000)
    parser.add_argument("--configured-live-events", type=int, default=100_000)
    args = parser.parse_args()
    name = f"bench_upgrade_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    try:
        await migrate(dsn)
        pool = await create_pool(dsn, max_size=4, fast_numeric=True)
        if args.events:
            await _balances(pool, args)
        if args.configured_events:
            await configured_upgrade.run(
                pool, CHAIN, args.configured_events, args.accounts, args.configured_live_events
            )
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _balances(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    started = time.monotonic()
    await pool.execute(SYNTHESIZE, CHAIN, TOKEN, args.events, args.accounts)
    last = (args.events - 1) // 20
    await pool.execute(
        "INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)",
        CHAIN, last, f"h{last}",
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO indexed_blocks (chain_id, number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, '', 0)",
        CHAIN, last, f"h{last}",
    )  # fmt: skip
    await pool.execute("ANALYZE chain_events")
    print(f"synthesized {args.events:,} Transfer rows in chain_events in {time.monotonic() - started:.1f}s")

    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / "balances.sql"
        changed.write_text(definition.BALANCES_SQL.read_text(encoding="utf-8") + "\n-- changed\n")
        d = definition.balances(TOKENS, changed)
        started = time.monotonic()
        built = await swap.upgrade(pool, d, CHAIN)
        upgrade_s = time.monotonic() - started
    rows = await pool.fetchval("SELECT count(*) FROM token_balances")
    upgrade_rate = args.events / upgrade_s
    print(
        f"upgrade: {args.events:,} events -> {rows:,} balances in {upgrade_s:.2f}s = {upgrade_rate:,.0f} events/s"
        f" (build alone {built.events_s:,.0f} events/s)"
    )

    projections = Projections(QUERIES, TOKENS)
    async with pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        await conn.execute("DELETE FROM token_balances")
        done, after, started = 0, (-1, -1), time.monotonic()
        while done < args.live_events:
            page = await conn.fetch(QUERIES.events_page, CHAIN, after[0], after[1], 20_000)
            if not page:
                break
            await projections.apply(conn, CHAIN, stored_logs(page))
            done += len(page)
            after = (page[-1]["block_number"], page[-1]["log_index"])
        live_rate = done / (time.monotonic() - started)
        await tr.rollback()
    print(f"live write path: {done:,} events at {live_rate:,.0f} events/s")
    print(f"ratio: the upgrade rebuilds {upgrade_rate / live_rate:.1f}x faster than live indexing writes")


if __name__ == "__main__":
    asyncio.run(main())
