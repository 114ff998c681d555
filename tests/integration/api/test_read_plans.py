"""The API's list reads stay index walks as their tables grow (README "Benchmarks", bench/reads_10m.py).

Each list query runs under ``EXPLAIN (ANALYZE, FORMAT JSON)`` on tables filled by
``bench.big_tables.fill`` (the same shape as the 10M-row benchmark, 20,000 rows a table, then
ANALYZE), with the plan chosen for the call's values and with the generic plan a prepared
statement falls back to after a few calls. A plan passes when no big table is read by a
sequential scan and no scan of one touches more than a page's worth of rows per source
(rows returned + rows removed by its filter): the work follows the page, not the table.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from api.content.service import NEWEST
from api.content.service import QUERIES as CONTENT
from api.profiles.service import QUERIES as PROFILES
from api.store import QUERIES as READS
from api.tips.service import QUERIES as TIPS
from bench.big_tables import CHAIN_ID, HEAD_TIME, TABLES, account, fill, literal, scans, touched

ROWS, ACCOUNTS, USERS = 20_000, 4_000, 2_000
LIMIT = 20
FAR = 2**62
BUDGET = 200  # rows a scan of a big table may touch for one page of 20 (~10 pages' worth)
USER = 7  # wallets account(7) and account(8); follows ~10 creators
WALLETS = [account(USER), account(USER + 1)]

CASES: list[tuple[str, str, tuple[Any, ...]]] = [
    ("transfers_page", READS.transfers_page, (CHAIN_ID, account(USER), FAR, 0, LIMIT)),
    ("open_auctions_page", READS.open_auctions_page, (CHAIN_ID, HEAD_TIME, -1, "-1", LIMIT)),
    ("open_auctions_page, later page", READS.open_auctions_page, (CHAIN_ID, HEAD_TIME, HEAD_TIME + 5000, "0", LIMIT)),
    ("auctions_by_seller_page", READS.auctions_by_seller_page, (CHAIN_ID, WALLETS, str(2**256), LIMIT)),
    ("auctions_won_page", READS.auctions_won_page, (CHAIN_ID, WALLETS, str(2**256), LIMIT)),
    ("bids_of_auction", READS.bids_of_auction, (CHAIN_ID, "42", 100)),
    ("intents_page, both", TIPS.intents_page, (CHAIN_ID, USER, WALLETS, FAR, None, LIMIT)),
    ("intents_page, sent", TIPS.intents_page, (CHAIN_ID, USER, WALLETS, FAR, "sent", LIMIT)),
    ("intents_page, received", TIPS.intents_page, (CHAIN_ID, USER, [account(USER)], FAR, "received", LIMIT)),
    ("public_feed", CONTENT.public_feed, (USER, NEWEST, LIMIT)),
    ("author_posts", CONTENT.author_posts, (USER, NEWEST, LIMIT, 3)),
    ("personal_feed", CONTENT.personal_feed, (USER, NEWEST, LIMIT)),
    ("profile statistics", PROFILES.statistics, (USER,)),
]  # fmt: skip


def problems(plan: dict[str, Any]) -> list[str]:
    """What makes the plan grow with a big table: a sequential scan, or a scan touching too many rows."""
    out = []
    for scan in scans(plan):
        if scan["Relation Name"] not in TABLES:
            continue
        rows, loops = touched(scan), max(scan["Actual Loops"], 1)
        if scan["Node Type"] == "Seq Scan":
            out.append(f"Seq Scan on {scan['Relation Name']}")
        elif rows > BUDGET * loops:
            out.append(
                f"{scan['Node Type']} on {scan['Relation Name']} ({scan.get('Index Name')}) touched {rows:.0f} rows"
            )
    return out


@pytest.fixture
async def filled(db_url: str) -> str:
    conn = await asyncpg.connect(db_url)
    try:
        await fill(conn, ROWS, ACCOUNTS, USERS)
    finally:
        await conn.close()
    return db_url


async def test_list_reads_walk_indexes_on_big_tables(filled: str) -> None:
    conn = await asyncpg.connect(filled)
    failures: dict[str, list[str]] = {}
    returned: dict[str, int] = {}
    try:
        for n, (label, sql, args) in enumerate(CASES):
            await conn.execute(f"PREPARE read_{n} AS {sql}")
            call = f"EXECUTE read_{n}({', '.join(literal(a) for a in args)})"
            returned[label] = len(await conn.fetch(call))
            for mode in ("force_custom_plan", "force_generic_plan"):
                await conn.execute(f"SET plan_cache_mode = {mode}")
                plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {call}"))[0]["Plan"]
                if found := problems(plan):
                    failures[f"{label} ({mode})"] = found
            await conn.execute("RESET plan_cache_mode")
    finally:
        await conn.close()
    assert not failures, json.dumps(failures, indent=1)
    # The data reaches every read (a page of an empty result would pass for the wrong reason).
    assert all(returned[label] > 0 for label, _, _ in CASES), returned
