"""A pending configured table (``indexer/custom/versions.py``) built beside and swapped in.

1. **History**: ``custom_logs`` holds the logs of the events configured when they were indexed
   (the node is asked by address, but only configured events' logs are kept). A changed
   definition of the same event (same topic0: an argument renamed, an ``indexed`` flag) reads
   them; a new event, or a changed signature (a new topic0), has its history fetched from the
   node first, range by range from the contract's start block to the checkpoint, into
   ``custom_logs`` (the indexer keeps that topic's raw log from its start, so the blocks it
   indexes meanwhile are there too). Each range is written holding the checkpoint row (a rollback
   waits), only at or below it and only logs of the blocks the indexer holds.
2. **Build** into ``projection_shadow."<table>"``, decoded from ``custom_logs`` by the decoder
   the indexer uses, in a snapshot at the checkpoint, while the served table keeps serving.
3. **Catch up and swap** in one transaction: ``custom_logs`` locked ``EXCLUSIVE`` (the indexer's
   next batch waits; readers go on), the served table ``EXCLUSIVE NOWAIT`` (retried), the logs
   indexed since the snapshot added (or, if a reorg replaced the snapshot's block, the shadow
   rebuilt whole), the served table moved to a ``projection_v_<ns>`` schema, the new one into
   ``custom_events``, its registration updated, a resync NOTIFY sent. The indexer's next batch
   sees the new registration under the lock and writes the new definition
   (``CustomStore.write``).

A build that fails or dies leaves the served table and its registration as they were.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from core.db.identifiers import CUSTOM_SCHEMA, qualified, quote
from core.errors import AppError, RetryableError
from indexer.custom.sources import CustomSources
from indexer.custom.store import CustomStore, stored_log
from indexer.custom.versions import Pending
from indexer.upgrade import swap
from indexer.upgrade.swap import SHADOW, Built

log = logging.getLogger("indexer.custom")
GetLogs = Callable[[int, int, list[str]], Awaitable[list[dict[str, Any]] | None]]
BlockTimes = Callable[[list[int]], Awaitable[dict[int, datetime]]]
PAGE = 20_000


def _shadow(table: str) -> str:
    return f"{quote(SHADOW)}.{quote(table)}"


def _sources(store: CustomStore, p: Pending) -> CustomSources:
    contract = next(c for c in store.wanted if c.name == p.wanted.contract)
    return CustomSources([replace(contract, tables=(p.wanted,))], store.sources.chain_id)


async def needs_history(pool: asyncpg.Pool, p: Pending, chain_id: int) -> bool:
    """Whether the event's history must come from the node (not all of it is in ``custom_logs``)."""
    if not p.same_topic:
        return True
    # A row written before the raw log existed (migration 0024) has no raw log: then from the node too.
    missing = (
        f"SELECT EXISTS (SELECT 1 FROM {qualified(p.wanted.table)} t WHERE t.chain_id = $1 AND NOT EXISTS"
        " (SELECT 1 FROM custom_logs l WHERE l.chain_id = t.chain_id AND l.block_number = t.block_number"
        " AND l.log_index = t.log_index))"
    )
    return bool(await pool.fetchval(missing, chain_id))


async def fetch_history(
    pool: asyncpg.Pool, store: CustomStore, p: Pending, get_logs: GetLogs, times: BlockTimes, *, step: int = 2000
) -> int:
    """The event's logs from the contract's start block to the checkpoint, from the node into ``custom_logs``."""
    chain_id, q, topic0 = store.sources.chain_id, store.q, p.wanted.topic0
    contract = next(c for c in store.wanted if c.name == p.wanted.contract)
    cp = await pool.fetchrow(q.get_checkpoint, chain_id)
    if cp is None:
        return 0
    upto = cp["block_number"]
    since = dict.fromkeys(contract.addresses, contract.start_block)  # address -> first block it counts from
    for child in await pool.fetch(q.custom_children, chain_id):
        if child["contract"] == contract.name:
            since.setdefault(child["address"], max(contract.start_block, child["block_number"]))
    start, added = min(since.values(), default=upto + 1), 0
    log.info("%s: fetching %s's history, blocks %d..%d", p.wanted.table, p.wanted.signature, start, upto)
    while start <= upto:
        end = min(upto, start + step - 1)
        try:
            logs = await get_logs(start, end, sorted(since))
        except RetryableError as exc:  # the node is away: this range again, later
            log.warning("%s: history %d..%d: %s; retrying", p.wanted.table, start, end, exc)
            await asyncio.sleep(1)
            continue
        if logs is None:
            step = max(1, step // 2)
            continue
        mine = [
            g
            for g in logs
            if g["topics"]
            and g["topics"][0].lower() == topic0
            and int(g["blockNumber"], 16) >= since.get(g["address"].lower(), upto + 1)
        ]
        if mine:
            try:
                at = await times(sorted({int(g["blockNumber"], 16) for g in mine}))
            except RetryableError as exc:
                log.warning("%s: headers of %d..%d: %s; retrying", p.wanted.table, start, end, exc)
                await asyncio.sleep(1)
                continue
            blocks = [int(g["blockNumber"], 16) for g in mine]
            async with pool.acquire() as conn, conn.transaction():
                checkpoint = await conn.fetchval(q.custom_checkpoint_share, chain_id)
                status = await conn.execute(
                    q.custom_logs_add, chain_id, contract.name, blocks, [int(g["logIndex"], 16) for g in mine],
                    [g["blockHash"].lower() for g in mine], [at[b] for b in blocks],
                    [g["transactionHash"].lower() for g in mine], [g["address"].lower() for g in mine],
                    [",".join(t.lower() for t in g["topics"]) for g in mine], [g["data"] for g in mine],
                    -1 if checkpoint is None else checkpoint,
                )  # fmt: skip
            added += int(status.split()[-1])
        start = end + 1
    return added


async def _decode_into(conn: asyncpg.Connection, store: CustomStore, p: Pending, after: int, upto: int) -> int:
    """Decode the event's raw logs in (after, upto] into the shadow table; the logs read."""
    chain_id, table = store.sources.chain_id, p.wanted
    sources = _sources(store, p)
    await store.load_children(conn, chain_id, sources)
    cursor, n = (-1, -1), 0
    while rows := await conn.fetch(
        store.q.custom_logs_of_event, chain_id, table.contract, table.topic0, after, upto, *cursor, PAGE
    ):
        decoded = sources.decode([stored_log(r) for r in rows], {r["block_number"]: r["block_time"] for r in rows},
                                 keep_raw=False)  # fmt: skip
        if records := decoded.get(table.table):
            await conn.copy_records_to_table(
                table.table, schema_name=SHADOW, columns=table.column_names, records=records
            )
        n += len(rows)
        cursor = (rows[-1]["block_number"], rows[-1]["log_index"])
    return n


async def build(pool: asyncpg.Pool, store: CustomStore, p: Pending) -> Built:
    """The new table in the shadow schema, from the raw log up to the checkpoint, in one snapshot."""
    chain_id, name = store.sources.chain_id, p.wanted.table
    if p.served is not None and await pool.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {qualified(name)} WHERE chain_id <> $1)", chain_id
    ):
        raise AppError(f"{name} holds rows of another chain: rebuild it per chain is not supported")
    started = time.monotonic()
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW}; DROP TABLE IF EXISTS {_shadow(name)}")
        async with conn.transaction(isolation="repeatable_read"):
            cp = await conn.fetchrow(swap.Q.checkpoint, chain_id)
            block, block_hash = (cp["block_number"], cp["block_hash"]) if cp else (-1, None)
            for statement in p.wanted.ddl(SHADOW):
                await conn.execute(statement)
            events = await _decode_into(conn, store, p, -1, block)
    elapsed = max(time.monotonic() - started, 1e-9)
    log.info("built %s (%s) up to block %d (%d logs, %.1fs)", name, p.wanted.signature, block, events, elapsed)
    return Built(block, block_hash, events / elapsed)


async def finish(pool: asyncpg.Pool, store: CustomStore, p: Pending, built: Built, keep: int = 0) -> None:
    """Catch up under the raw log's lock and swap; retried while the indexer holds the table's lock."""
    deadline = time.monotonic() + 120
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await _catch_up_and_swap(conn, store, p, built)
            break
        except asyncpg.LockNotAvailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    async with pool.acquire() as conn:
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1)",
            SHADOW,
        ):
            await conn.execute(f"DROP SCHEMA IF EXISTS {SHADOW}")
    await swap.drop_old(pool, keep)


async def _catch_up_and_swap(conn: asyncpg.Connection, store: CustomStore, p: Pending, built: Built) -> None:
    chain_id, name = store.sources.chain_id, p.wanted.table
    # The raw log first (waiting, holding nothing); the served table without waiting: a rollback that
    # took it before the raw log makes this attempt fail and retry, never deadlock.
    await conn.execute("LOCK TABLE custom_logs IN EXCLUSIVE MODE")
    if p.served is not None:
        await conn.execute(f"LOCK TABLE {qualified(name)} IN EXCLUSIVE MODE NOWAIT")
    cp = await conn.fetchrow(swap.Q.checkpoint, chain_id)
    upto = cp["block_number"] if cp else -1
    start = built.block
    if await swap.replaced(conn, chain_id, built, upto):
        log.warning("a reorg replaced block %d during the build: rebuilding %s whole", built.block, name)
        await conn.execute(f"TRUNCATE {_shadow(name)}")
        start = -1
    await _decode_into(conn, store, p, start, upto)
    archive = f"projection_v_{time.time_ns()}"  # digits only: a safe identifier
    if p.served is not None:
        await conn.execute(f"CREATE SCHEMA {archive}; ALTER TABLE {qualified(name)} SET SCHEMA {archive}")
    await conn.execute(f"ALTER TABLE {_shadow(name)} SET SCHEMA {quote(CUSTOM_SCHEMA)}")
    await store.register(conn, p.wanted)
    payload = {"chain_id": chain_id, "resync": True, "reason": f"projection custom_events.{name} upgraded"}
    await conn.execute(swap.Q.notify_resync, json.dumps(payload))
    log.info("swapped %s to %s at block %d", name, p.wanted.signature, upto)


async def upgrade(
    pool: asyncpg.Pool, store: CustomStore, p: Pending, get_logs: GetLogs, times: BlockTimes, *, keep: int = 0
) -> Built:
    if await needs_history(pool, p, store.sources.chain_id):
        added = await fetch_history(pool, store, p, get_logs, times)
        log.info("%s: %d logs of history added to the raw log", p.wanted.table, added)
    built = await build(pool, store, p)
    await finish(pool, store, p, built, keep)
    return built


async def upgrade_pending(
    pool: asyncpg.Pool, store: CustomStore, get_logs: GetLogs, times: BlockTimes, keep: int = 0
) -> list[str]:
    """Every pending table, one after the other; the ones swapped in. A failure leaves that one served as it was."""
    done = []
    for name, p in list(store.pending.items()):
        try:
            await upgrade(pool, store, p, get_logs, times, keep=keep)
        except (AppError, asyncpg.PostgresError, OSError) as exc:
            log.error("rebuilding %s failed (the served table stays): %s", name, exc)
            continue
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(store.q.custom_lock_logs)
            await store.adopt_swapped(conn)
        done.append(name)
    return done
