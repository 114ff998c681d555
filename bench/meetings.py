"""Meeting materialization benchmark: what the feed producer's hook and the read path cost.

``python -m bench.meetings [--auctions 20000]``

Builds its own database (migrated, ``auctions`` filled by COPY with ended auctions, each with a
winner and a pass, 10 per block) and measures, with the real :class:`api.meetings.service.Meetings`:

- materializing every meeting from scratch (one meeting + three notices each, pushed to Redis);
- the producer's step when nothing new ended, as a full scan (a new lease holder) and from its
  block watermark (every other step);
- a user's read-path materialization (their wallets only) and one ``meetings_by_ids`` page of 20.

Needs PostgreSQL at ``BENCH_DATABASE_URL`` and Redis at ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import asyncpg
from redis.asyncio import Redis

from api.meetings.notifications import Notifications
from api.meetings.service import QUERIES, Meetings
from api.meetings.views import Caller
from api.settings import ApiSettings
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.migrate import migrate

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CHAIN_ID = 31337
PER_BLOCK = 10


def address(i: int) -> str:
    return "0x" + f"{i + 1:040x}"


async def timed(label: str, fn: object, repeat: int = 1) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    median = statistics.median(samples)
    print(f"{label:<58} {median * 1000:9.1f} ms" + (f"  (median of {repeat})" if repeat > 1 else ""))
    return median


async def run(auctions: int) -> None:
    name = "bench_meetings"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + "/" + name
    await migrate(dsn)
    pool = await create_pool(dsn, max_size=4)
    redis = Redis.from_url(REDIS_URL)
    try:
        now = int(time.time())
        rows = [
            (CHAIN_ID, n + 1, address(n % 1000), 1, now, 250, "m", "ended", address(1000 + n), 5, 1,
             address(1000 + n), 0, n + 1, 1 + n // PER_BLOCK, 1 + n // PER_BLOCK)
            for n in range(auctions)
        ]  # fmt: skip
        async with pool.acquire() as conn:
            await conn.copy_records_to_table(
                "auctions",
                records=rows,
                columns=["chain_id", "auction_id", "seller", "reserve", "end_time", "fee_bps", "metadata", "status",
                         "highest_bidder", "highest_bid", "bid_count", "winner", "fee", "pass_id", "created_block",
                         "updated_block"],
            )  # fmt: skip
            await conn.execute("ANALYZE auctions")
        settings = ApiSettings(redis_url=REDIS_URL, database_url=dsn)
        notices = Notifications(pool, redis, QUERIES, CHAIN_ID, settings.feed_maxlen)
        meetings = Meetings(pool, notices, settings, chain_id=CHAIN_ID, rpc=RpcClient(["http://127.0.0.1:1"]),
                            pass_address=address(0))  # fmt: skip
        head = 1 + (auctions - 1) // PER_BLOCK
        print(f"{auctions} ended auctions over {head} blocks")
        first = await timed("materialize all (meetings + 3 notices each + feed push)", meetings.materialize)
        print(f"{'':<58} {auctions / first:9.0f} meetings/s")
        assert await pool.fetchval("SELECT count(*) FROM meetings") == auctions
        await timed("producer step, nothing new, full scan (new lease holder)", meetings.materialize, 5)
        await timed("producer step, nothing new, from the block watermark",
                    lambda: meetings.materialize(None, head), 20)  # fmt: skip
        seller = [address(7)]
        await timed("read path: one seller's wallets (GET /api/meetings)", lambda: meetings.materialize(seller), 20)
        await timed("GET /api/meetings page of 20 (materialize + read)",
                    lambda: meetings.mine(Caller(1, seller), 2**62, 20), 20)  # fmt: skip
    finally:
        await redis.delete(f"feed:{CHAIN_ID}")
        await redis.aclose()
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="meeting materialization benchmark")
    parser.add_argument("--auctions", type=int, default=20_000)
    asyncio.run(run(parser.parse_args().auctions))


if __name__ == "__main__":
    main()
