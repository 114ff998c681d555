"""A pending configured table (``indexer/custom/versions.py``) built beside and swapped in.

1. **History**: ``custom_logs`` holds the logs of the events configured when they were indexed
   (the node is asked by address, but only configured events' logs are kept). A changed
   definition of the same event (same topic0: an argument renamed, an ``indexed`` flag) reads
   them; a new event, or a changed signature (a new topic0), has its history fetched from the
   node first, range by range from the contract's start block to the checkpoint, into
   ``custom_logs`` (the indexer keeps that topic's raw log from its start, so the blocks it
   indexes meanwhile are there too). Each range is written holding the checkpoint row (a rollback
   waits), only at or below it and only logs of the blocks the indexer holds, with its progress
   (``custom_history_progress``): a killed fetch resumes where it was. A contract added to the
   configuration with history (its start block at or below the checkpoint) takes this path for
   all its tables: the indexer follows its address from the checkpoint on, keeping the raw log only,
   and its past comes from the node here. A factory added with history brings its children along: they
   are found in its history and handed to the live indexer as they are (``indexer/custom/history.py``).
2. **Build** into ``projection_shadow."<table>"``, decoded from ``custom_logs`` by the decoder
   the indexer uses, in a snapshot at the checkpoint, while the served table keeps serving.
3. **Catch up and swap** in one transaction: ``custom_logs`` locked ``EXCLUSIVE`` (the indexer's
   next batch waits; readers go on), the served table ``EXCLUSIVE NOWAIT`` (retried), the logs
   indexed since the snapshot added (or, if a reorg replaced the snapshot's block, the shadow
   rebuilt whole), the served table moved to a ``projection_v_<ns>`` schema, the new one into
   ``custom_events``, its registration updated, a resync NOTIFY sent. One contract's pending tables
   (with its children's, for a factory) are built in one snapshot and swapped in one transaction (a new
   contract appears whole). The indexer's next batch
   sees the new registration under the lock and writes the new definition
   (``CustomStore.write``).

A build that fails or dies leaves the served table and its registration as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from core.db.copy import copy_rows
from core.db.identifiers import CUSTOM_SCHEMA, qualified, quote
from core.errors import AppError
from indexer.custom.abi import EventTable
from indexer.custom.config import CustomContract
from indexer.custom.history import BlockTimes, GetLogs, fetch_history
from indexer.custom.sources import CustomSources
from indexer.custom.store import CustomStore, stored_log
from indexer.custom.versions import Pending
from indexer.upgrade import swap
from indexer.upgrade.swap import SHADOW, Built

log = logging.getLogger("indexer.custom")
PAGE = 20_000
LAST_LOG_INDEX = 2**31 - 1  # (block, this) sorts after every log of the block


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


def groups(pending: Mapping[str, Pending], wanted: Sequence[CustomContract] = ()) -> list[list[Pending]]:
    """The pending tables by contract: a contract's are built together and swapped in one transaction, and so
    are a factory's and its children's when the factory's are pending too (added with history: the
    children are found in its history, ``indexer/custom/history.py``)."""
    factory = {c.name: c.factory.event.contract for c in wanted if c.factory is not None}
    contracts = {p.wanted.contract for p in pending.values()}
    by_root: dict[str, list[Pending]] = {}
    for p in pending.values():
        parent = factory.get(p.wanted.contract)
        by_root.setdefault(parent if parent in contracts else p.wanted.contract, []).append(p)
    return list(by_root.values())


def _group(ps: Pending | Sequence[Pending]) -> list[Pending]:
    group = [ps] if isinstance(ps, Pending) else list(ps)
    if not group:
        raise ValueError("a rebuild group is one contract's pending tables (with its children's)")
    return group


async def _copy(conn: asyncpg.Connection, table: EventTable, records: list[tuple[Any, ...]]) -> None:
    """COPY into the shadow table: in the text format (no per-value binary encoding, ``numeric`` alone
    costs microseconds a value) unless a column is ``jsonb`` (arrays, tuples: their codec is binary)."""
    if any(c.sql == "jsonb" for c in table.columns):
        await conn.copy_records_to_table(table.table, schema_name=SHADOW, columns=table.column_names, records=records)
    else:
        await copy_rows(conn, table.table, records, table.column_names, schema=SHADOW)


async def _decode_into(
    conn: asyncpg.Connection,
    store: CustomStore,
    p: Pending,
    after: int,
    upto: int,
    *,
    writer: asyncpg.Connection | None = None,
) -> int:
    """Decode the event's raw logs in (after, upto] into the shadow table; the logs read.

    With a ``writer`` (the bulk build, outside the reading transaction), pipelined: the next page is
    read and the previous one COPYed by PostgreSQL while this process decodes the current one."""
    chain_id, table = store.sources.chain_id, p.wanted
    sources = _sources(store, p)
    await store.load_children(conn, chain_id, sources)

    def page(cursor: tuple[int, int]) -> Awaitable[list[asyncpg.Record]]:
        q = store.q.custom_logs_of_event
        return conn.fetch(q, chain_id, table.contract, table.topic0, upto, *cursor, PAGE)

    n, following, copying = 0, None, None
    rows = await page((after, LAST_LOG_INDEX))  # the first page: the logs of the blocks after ``after``
    try:
        while rows:
            n += len(rows)
            cursor = (rows[-1]["block_number"], rows[-1]["log_index"])
            if writer is not None:
                following = asyncio.ensure_future(page(cursor))
                await asyncio.sleep(0)  # the query is sent before the decoding holds this process
            decoded = sources.decode([stored_log(r) for r in rows], {r["block_number"]: r["block_time"] for r in rows},
                                     keep_raw=False)  # fmt: skip
            records = decoded.get(table.table)
            if writer is None:
                if records:
                    await _copy(conn, table, records)
                rows = await page(cursor)
                continue
            if copying is not None:
                await copying
            copying = asyncio.ensure_future(_copy(writer, table, records)) if records else None
            assert following is not None
            rows, following = await following, None
        if copying is not None:
            await copying
            copying = None
    finally:
        for task in (following, copying):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await task
    return n


async def build(pool: asyncpg.Pool, store: CustomStore, ps: Pending | Sequence[Pending]) -> Built:
    """The new tables (one contract's) in the shadow schema, from the raw log up to the checkpoint, in one
    snapshot. Only these tables of ``projection_shadow`` are touched: other builds' stay."""
    group = _group(ps)
    chain_id = store.sources.chain_id
    for p in group:
        if p.served is not None and await pool.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {qualified(p.wanted.table)} WHERE chain_id <> $1)", chain_id
        ):
            raise AppError(f"{p.wanted.table} holds rows of another chain: rebuild it per chain is not supported")
    started = time.monotonic()
    async with pool.acquire() as conn, pool.acquire() as writer:
        for p in group:  # the table and its key; its other indexes once the bulk of it is in
            await swap.create_shadow(conn, quote(p.wanted.table), p.wanted.ddl(SHADOW)[:1])
        async with conn.transaction(isolation="repeatable_read"):
            cp = await conn.fetchrow(swap.Q.checkpoint, chain_id)
            block, block_hash = (cp["block_number"], cp["block_hash"]) if cp else (-1, None)
            events = 0
            for p in group:  # read in the snapshot, written beside it (a failed build is started over)
                events += await _decode_into(conn, store, p, -1, block, writer=writer)
        for p in group:
            for statement in p.wanted.ddl(SHADOW)[1:]:
                await conn.execute(statement)
    elapsed = max(time.monotonic() - started, 1e-9)
    names = ", ".join(f"{p.wanted.table} ({p.wanted.signature})" for p in group)
    log.info("built %s up to block %d (%d logs, %.1fs)", names, block, events, elapsed)
    return Built(block, block_hash, events / elapsed)


async def finish(
    pool: asyncpg.Pool, store: CustomStore, ps: Pending | Sequence[Pending], built: Built, keep: int = 0
) -> None:
    """Catch up under the raw log's lock and swap; retried while the indexer holds a table's lock."""
    group = _group(ps)
    deadline = time.monotonic() + 120
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await _catch_up_and_swap(conn, store, group, built)
            break
        except asyncpg.LockNotAvailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    await swap.drop_shadow_if_empty(pool)
    await swap.drop_old(pool, keep)


async def _catch_up_and_swap(conn: asyncpg.Connection, store: CustomStore, group: list[Pending], built: Built) -> None:
    chain_id = store.sources.chain_id
    # The raw log first (waiting, holding nothing); the served tables without waiting: a rollback that
    # took one before the raw log makes this attempt fail and retry, never deadlock.
    await conn.execute("LOCK TABLE custom_logs IN EXCLUSIVE MODE")
    served = [p.wanted.table for p in group if p.served is not None]
    if served:
        await conn.execute(f"LOCK TABLE {', '.join(qualified(n) for n in served)} IN EXCLUSIVE MODE NOWAIT")
    cp = await conn.fetchrow(swap.Q.checkpoint, chain_id)
    upto = cp["block_number"] if cp else -1
    start = built.block
    names = ", ".join(p.wanted.table for p in group)
    if await swap.replaced(conn, chain_id, built, upto):
        log.warning("a reorg replaced block %d during the build: rebuilding %s whole", built.block, names)
        await conn.execute(f"TRUNCATE {', '.join(_shadow(p.wanted.table) for p in group)}")
        start = -1
    for p in group:
        await _decode_into(conn, store, p, start, upto)
    archive = f"projection_v_{time.time_ns()}"  # digits only: a safe identifier
    if served:
        await conn.execute(f"CREATE SCHEMA {archive}")
        for name in served:
            await conn.execute(f"ALTER TABLE {qualified(name)} SET SCHEMA {archive}")
    for p in group:
        await conn.execute(f"ALTER TABLE {_shadow(p.wanted.table)} SET SCHEMA {quote(CUSTOM_SCHEMA)}")
        await store.register(conn, p.wanted)
    reason = f"projection custom_events.{names} upgraded"
    await conn.execute(swap.Q.notify_resync, json.dumps({"chain_id": chain_id, "resync": True, "reason": reason}))
    log.info("swapped %s in at block %d", names, upto)


async def upgrade(
    pool: asyncpg.Pool,
    store: CustomStore,
    ps: Pending | Sequence[Pending],
    get_logs: GetLogs,
    times: BlockTimes,
    *,
    keep: int = 0,
    step: int = 2000,
) -> Built:
    """History (when needed), build, catch up and swap one contract's pending tables, holding their build lock."""
    group = _group(ps)
    async with swap.build_lock(pool, [p.wanted.table for p in group]):
        history = [p for p in group if await needs_history(pool, p, store.sources.chain_id)]
        if history:
            added = await fetch_history(pool, store, history, get_logs, times, step=step)
            log.info("%s: %d logs of history added to the raw log", ", ".join(p.wanted.table for p in history), added)
        built = await build(pool, store, group)
        await finish(pool, store, group, built, keep)
    return built


async def upgrade_pending(
    pool: asyncpg.Pool, store: CustomStore, get_logs: GetLogs, times: BlockTimes, keep: int = 0, *, step: int = 2000
) -> list[str]:
    """Every pending table, one contract after the other; the ones swapped in. A failure leaves that
    contract's tables served as they were (or, for a new contract, not served yet)."""
    done = []
    for group in groups(store.pending, store.wanted):
        names = [p.wanted.table for p in group]
        try:
            await upgrade(pool, store, group, get_logs, times, keep=keep, step=step)
        except (AppError, asyncpg.PostgresError, OSError) as exc:
            log.error("rebuilding %s failed (the served tables stay): %s", ", ".join(names), exc)
            continue
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(store.q.custom_lock_logs)
            await store.adopt_swapped(conn)
        done.extend(names)
    return done
