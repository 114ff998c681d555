"""Fills the API's indexed and social tables with ``generate_series`` (no chain): big tables for reads.

:func:`fill` writes ``rows`` rows into each of ``token_transfers``, ``auctions``, ``bids``,
``tip_intents``, ``intent_outcomes`` and ``posts``, over ``accounts`` addresses (the first
``users`` of them linked to users 1..users, who follow ``follows`` creators each), plus the indexed
block, then ``ANALYZE``. Secondary indexes are dropped for the load and built again after (as
a bulk load would), the primary keys and unique constraints stay. Used by ``bench.reads_10m``
(10M rows a table) and by the plan test (tests/integration/api/test_read_plans.py, a few
thousand rows), so both see the same shape of data.

Shape: account k is ``0x`` + k in hex on 40 digits; transfer g goes between two pseudo-random
accounts (about 2 x rows / accounts rows per account); auction g is sold by account g*31 mod
accounts, one in 100 still open at the head's time, the rest ended with a winner; bids go ten to
an auction over the first tenth; intent g is user (g mod users)'s, sent from their wallet, and has
a settled outcome (nine in ten); post g is by one of the creators (the first users).
"""

from __future__ import annotations

from typing import Any

import asyncpg

CHAIN_ID = 31337
COIN = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
HEAD_TIME = 1_800_000_000  # the indexed block's timestamp: auctions ending after it are open
TABLES = ("token_transfers", "auctions", "bids", "tip_intents", "intent_outcomes", "posts")


def account(k: int) -> str:
    return "0x" + f"{k:040x}"


ACCOUNT_SQL = "'0x' || lpad(to_hex({}), 40, '0')"  # the SQL of account(k)
HASH_SQL = "'0x' || lpad(to_hex({}), 64, '0')"


def _acct(expr: str) -> str:
    return ACCOUNT_SQL.format(expr)


def _hash(expr: str) -> str:
    return HASH_SQL.format(expr)


FILL: dict[str, str] = {
    # $1 rows, $2 accounts
    "token_transfers": f"""
        INSERT INTO token_transfers (chain_id, block_number, log_index, token, sender, receiver, amount, tx_hash)
        SELECT {CHAIN_ID}, g / 10 + 1, g % 10, '{COIN}', {_acct("(g * 7919) % $2 + 1")},
               {_acct("(g * 104729 + 1) % $2 + 1")}, g % 1000 + 1, {_hash("g")}
        FROM generate_series(0::bigint, $1 - 1) g""",
    "auctions": f"""
        INSERT INTO auctions (chain_id, auction_id, seller, reserve, end_time, fee_bps, metadata, status,
                              highest_bidder, highest_bid, bid_count, winner, created_block, updated_block)
        SELECT {CHAIN_ID}, g, {_acct("(g * 31) % $2 + 1")}, 100,
               CASE WHEN g % 100 = 0 THEN {HEAD_TIME} + g % 86400 + 1 ELSE {HEAD_TIME} - g % 86400 - 1 END, 500, 'm',
               CASE WHEN g % 100 = 0 THEN 'active' ELSE 'ended' END, {_acct("(g * 17) % $2 + 1")}, 200, 1,
               CASE WHEN g % 100 = 0 THEN NULL ELSE {_acct("(g * 17) % $2 + 1")} END, g / 10 + 1, g / 10 + 2
        FROM generate_series(1::bigint, $1) g""",
    "bids": f"""
        INSERT INTO bids (chain_id, block_number, log_index, auction_id, bidder, amount, previous_bidder,
                          previous_amount, tx_hash)
        SELECT {CHAIN_ID}, g / 10 + 1, g % 10, g / 10 + 1, {_acct("(g * 13) % $2 + 1")}, 100 + g % 10, NULL, NULL,
               {_hash("g")}
        FROM generate_series(0::bigint, $1 - 1) g""",
    # $1 rows, $2 accounts, $3 users
    "tip_intents": f"""
        INSERT INTO tip_intents (id, chain_id, digest, user_id, sender, receiver, token, amount, kind, nonce, deadline,
                                 signature, status, created_at)
        SELECT g, {CHAIN_ID}, {_hash("g")}, g % $3 + 1, {_acct("g % $3 + 1")}, {_acct("(g * 13) % $2 + 1")},
               '{COIN}', 1000 + g % 7, (g % 2)::smallint, g, 2000000000, '0x' || repeat('ab', 65), 'submitted',
               now() - make_interval(secs => $1 - g)
        FROM generate_series(1::bigint, $1) g""",
    "intent_outcomes": f"""
        INSERT INTO intent_outcomes (chain_id, block_number, log_index, digest, status, sender, receiver, token,
                                     amount, kind, fee, reason, tx_hash)
        SELECT {CHAIN_ID}, g / 10 + 1, g % 10, {_hash("g")}, 'settled', {_acct("g % $3 + 1")},
               {_acct("(g * 13) % $2 + 1")}, '{COIN}', 1000 + g % 7, (g % 2)::smallint, 25, NULL, {_hash("g")}
        FROM generate_series(1::bigint, $1) g WHERE g % 10 <> 0""",
    # $1 rows, $2 creators
    "posts": """
        INSERT INTO posts (author_id, body, created_at)
        SELECT (g * 13) % $2 + 1, 'post ' || g, now() - make_interval(secs => $1 - g)
        FROM generate_series(1::bigint, $1) g""",
}


async def _secondary_indexes(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that back no constraint."""
    rows = await conn.fetch(
        "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
        table,
    )
    return [(r["name"], r["definition"]) for r in rows]


async def fill(
    conn: asyncpg.Connection, rows: int, accounts: int, users: int, follows: int = 10, log: bool = False
) -> None:
    """See the module's docstring; ``conn`` is a migrated, empty database."""
    creators = max(1, users // 10)
    await conn.execute("SET session_replication_role = replica")  # bulk load: no per-row FK triggers
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute(
        "INSERT INTO users (id, email, role) SELECT g, 'u' || g || '@bench.example',"
        " CASE WHEN g <= $2 THEN 'creator' ELSE 'user' END FROM generate_series(1, $1) g",
        users, creators,
    )  # fmt: skip
    await conn.execute("SELECT setval('users_id_seq', $1)", users)
    await conn.execute(
        "INSERT INTO user_profiles (user_id, username, display_name) SELECT g, 'user_' || g, 'User ' || g"
        " FROM generate_series(1, $1) g",
        users,
    )
    await conn.execute(
        f"INSERT INTO user_wallets (address, user_id) SELECT {_acct('g')}, g FROM generate_series(1, $1) g", users
    )
    await conn.execute(
        "INSERT INTO follows (follower_id, creator_id) SELECT DISTINCT u, (u * 7919 + k) % $3 + 1"
        " FROM generate_series(1::bigint, $1) u, generate_series(1, $2) k WHERE (u * 7919 + k) % $3 + 1 <> u",
        users, follows, creators,
    )  # fmt: skip
    for table in TABLES:
        indexes = await _secondary_indexes(conn, table)
        for name, _ in indexes:
            await conn.execute(f'DROP INDEX "{name}"')
        args = {"posts": (rows, creators), "tip_intents": (rows, accounts, users),
                "intent_outcomes": (rows, accounts, users)}.get(table, (rows, accounts))  # fmt: skip
        await conn.execute(FILL[table], *args)
        for _, definition in indexes:
            await conn.execute(definition)
        if log:
            print(f"  filled {table}", flush=True)
    await conn.execute("SELECT setval('tip_intents_id_seq', $1)", rows)
    head = rows // 10 + 2
    await conn.execute(
        "INSERT INTO indexed_blocks (chain_id, number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4, $5)",
        CHAIN_ID, head, f"0x{head:064x}", f"0x{head - 1:064x}", HEAD_TIME,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)",
        CHAIN_ID, head, f"0x{head:064x}",
    )  # fmt: skip
    await conn.execute("RESET session_replication_role")
    await conn.execute("ANALYZE")


def literal(value: object) -> str:
    """An argument of ``EXECUTE``: the prepared statement's parameter types apply to untyped literals."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "'{" + ",".join(str(v) for v in value) + "}'"
    return "'" + str(value).replace("'", "''") + "'"


def scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of an ``EXPLAIN (FORMAT JSON)`` plan that read a relation."""
    found = [node] if "Relation Name" in node else []
    for child in node.get("Plans", []):
        found += scans(child)
    return found


def touched(scan: dict[str, Any]) -> float:
    """Rows an analyzed scan read over all its loops: returned + removed by its filter."""
    return float((scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)) * max(scan["Actual Loops"], 1))
