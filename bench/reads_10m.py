"""List reads on 10M-row tables: wrk against ``python -m api`` (2 workers), p50/p99 per read.

``python -m bench.reads_10m [--rows 10000000] [--accounts 100000] [--users 100000] [--duration 10]
[--connections 32] [--keep NAME]``

Builds its own migrated database and fills ``token_transfers``, ``auctions``, ``bids``,
``tip_intents``, ``intent_outcomes`` and ``posts`` with ``--rows`` rows each (SQL
``generate_series``, ``bench/big_tables.py``: secondary indexes built after the load, then
ANALYZE), over ``--accounts`` addresses, the first ``--users`` of them users with that wallet
(a tenth of them creators, 10 follows each). Starts the API with ``API_WORKERS=2`` and runs wrk
(Debian: ``apt-get install -y wrk``) over random accounts / users, a warm-up first, then per read:
``GET /health`` (the baseline: the HTTP stack, no database), an account's transfers (first page
and a page from the middle of the chain by cursor), open auctions (first and a later page; cached
per indexed block), an auction with its bids (cached), the signed-in user's auctions as seller and
as winner, their intents, the public / personal feeds, a creator's posts and the profile
statistics. Prints req/s, p50 and p99 per read (goal: p99 < 50 ms) and, per list query, the rows
its plan touched on the big tables (``EXPLAIN ANALYZE``, the check of
tests/integration/api/test_read_plans.py at full size). Needs PostgreSQL at
``BENCH_DATABASE_URL`` and Redis at ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time

import asyncpg

from api.auth.tokens import issue_access_token, signing_key
from api.content.service import NEWEST
from api.content.service import QUERIES as CONTENT
from api.reads.service import encode_cursor
from api.store import QUERIES as READS
from api.tips.service import QUERIES as TIPS
from bench.api_reads import ADMIN_DSN, Case, dsn_for, run_cases
from bench.big_tables import CHAIN_ID, HEAD_TIME, TABLES, account, fill, literal, scans, touched
from core.db.migrate import migrate

SECRET = "bench-secret-for-the-10m-reads-0123456789"  # noqa: S105 (signs the bench's own tokens)
GOAL_P99_MS = 50.0


async def build(name: str, rows: int, accounts: int, users: int) -> dict[str, int]:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(dsn_for(name))
    conn = await asyncpg.connect(dsn_for(name))
    try:
        await fill(conn, rows, accounts, users, log=True)
        sizes = {t: int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)) for t in TABLES}
        sizes["database"] = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        for table in TABLES:
            sizes[f"rows:{table}"] = int(
                await conn.fetchval(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
            )
    finally:
        await conn.close()
    return sizes


async def plans(name: str, user: int) -> dict[str, str]:
    """Per list query: the scans of big tables in its plan and the rows each touched (EXPLAIN ANALYZE)."""
    wallets = [account(user)]
    cases = [
        ("transfers_page", READS.transfers_page, (CHAIN_ID, account(user), 2**62, 0, 20)),
        ("open_auctions_page", READS.open_auctions_page, (CHAIN_ID, HEAD_TIME, -1, "-1", 20)),
        ("auctions_by_seller_page", READS.auctions_by_seller_page, (CHAIN_ID, wallets, str(2**256), 20)),
        ("auctions_won_page", READS.auctions_won_page, (CHAIN_ID, wallets, str(2**256), 20)),
        ("intents_page", TIPS.intents_page, (CHAIN_ID, user, wallets, 2**62, None, 20)),
        ("personal_feed", CONTENT.personal_feed, (user, NEWEST, 20)),
        ("public_feed", CONTENT.public_feed, (user, NEWEST, 20)),
    ]
    conn = await asyncpg.connect(dsn_for(name))
    out = {}
    try:
        for n, (label, sql, args) in enumerate(cases):
            await conn.execute(f"PREPARE q{n} AS {sql}")
            plan = json.loads(await conn.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE q{n}({', '.join(literal(a) for a in args)})"
            ))[0]  # fmt: skip
            parts = [
                f"{s['Node Type']} {s.get('Index Name') or s['Relation Name']} {touched(s):.0f} rows"
                for s in scans(plan["Plan"])
                if s["Relation Name"] in TABLES
            ]
            out[label] = f"{plan['Execution Time']:.2f} ms: " + "; ".join(parts)
    finally:
        await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in each big table")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--keep", help="reuse (or keep) this database instead of a fresh one")
    args = parser.parse_args()
    db = args.keep or f"bench_reads_{os.getpid()}"
    started = time.perf_counter()
    if not args.keep or not asyncio.run(_exists(db)):
        sizes = asyncio.run(build(db, args.rows, args.accounts, args.users))
        mb = 2**20
        print(f"database: {sizes['database'] / mb:,.0f} MB, filled in {time.perf_counter() - started:.0f} s; "
              + ", ".join(f"{t} {sizes['rows:' + t]:,} rows {sizes[t] / mb:,.0f} MB" for t in TABLES))  # fmt: skip
    rng = random.Random(5)
    users = [rng.randrange(1, args.users + 1) for _ in range(2000)]
    tokens = [issue_access_token(signing_key(SECRET), u, "user", 3600) for u in users]
    creators = max(1, args.users // 10)
    middle = encode_cursor(args.rows // 20, 0)  # a page from the middle of the chain (block rows/20)
    later = encode_cursor(HEAD_TIME + 40_000, 0)
    auth = [
        ("GET /api/auctions/user/created?limit=20", "/api/auctions/user/created?limit=20"),
        ("GET /api/auctions/user/won?limit=20", "/api/auctions/user/won?limit=20"),
        ("GET /api/contracts/intents?limit=20", "/api/contracts/intents?limit=20"),
        ("GET /api/content/feed?limit=20 (personal)", "/api/content/feed?limit=20"),
        ("GET /api/user/statistics", "/api/user/statistics"),
    ]
    cases: list[Case] = [
        ("GET /health (baseline: no database read)", ["/health"], None),
        ("GET /api/transfers?account=&limit=20", [f"/api/transfers?account={account(u)}&limit=20" for u in users], None),
        ("GET /api/transfers?account=&cursor=(middle)", [f"/api/transfers?account={account(u)}&limit=20&cursor={middle}" for u in users], None),
        ("GET /api/auctions/active (cached)", ["/api/auctions/active"], None),
        ("GET /api/auctions/active?cursor= (later, cached)", [f"/api/auctions/active?cursor={later}"], None),
        ("GET /api/auctions/{id} (bids, cached)", [f"/api/auctions/{rng.randrange(1, args.rows // 10)}" for _ in range(2000)], None),
        *((label, [path] * len(tokens), tokens) for label, path in auth),
        ("GET /api/content/feed/public?limit=20", ["/api/content/feed/public?limit=20"], None),
        ("GET /api/content/users/{id}/posts?limit=20", [f"/api/content/users/{rng.randrange(1, creators + 1)}/posts?limit=20" for _ in range(2000)], None),
    ]  # fmt: skip
    try:
        print(f"wrk -t2 -c{args.connections} -d{args.duration}s per read (after a 3 s warm-up), API 2 workers")
        results = run_cases(db, cases, args.duration, args.connections, SECRET)
        failed = [label for label, r in results if r["p99"] >= GOAL_P99_MS and "health" not in label]
        print(f"goal p99 < {GOAL_P99_MS:.0f} ms: " + ("met by every read" if not failed else f"missed by {failed}"))
        print(f"plans at full size (user {users[0]}):")
        for label, line in asyncio.run(plans(db, users[0])).items():
            print(f"  {label:25s} {line}")
    finally:
        if not args.keep:
            asyncio.run(_drop(db))


async def _exists(name: str) -> bool:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


if __name__ == "__main__":
    main()
