"""Build a projection beside the served one, then swap it in one transaction.

``build`` rebuilds the table into the ``projection_shadow`` schema from ``chain_events`` with
one set-based statement, in a snapshot at the indexer's checkpoint, while the served table
keeps serving and the indexer keeps writing. ``finish`` then takes the tables' write locks
(readers go on), adds the events indexed since the snapshot — or, when a reorg replaced the
snapshot's block, rebuilds whole — and moves the served table out and the new one in, in the
same transaction: a reader sees the old table or the new one, never a half-built one. A build
that fails or dies leaves the served table as it was; ``upgrade`` again starts the shadow over.

Several builds may run at once (``token_balances`` and configured tables, from the indexer and the
CLI): each owns only its own table in ``projection_shadow`` (created, and the schema created or
dropped when empty, under one transaction-level advisory lock), and a projection is built by one
process at a time (:func:`build_lock`, a session advisory lock per projection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from core.db import Queries
from core.errors import Conflict
from indexer.upgrade.definition import Definition

log = logging.getLogger("indexer.upgrade")
Q = Queries(Path(__file__).with_name("control.sql"))
SHADOW = "projection_shadow"
LOCKED = ("token_transfers", "token_balances", "token_mints")  # the indexer writes these with chain_events


SHADOW_LOCK = "SELECT pg_advisory_xact_lock(hashtext('projection_shadow'))"  # the schema's DDL, one at a time


class BuildBusy(Conflict):
    """The projection is being built by another process (or task) right now."""


@contextlib.asynccontextmanager
async def build_lock(pool: asyncpg.Pool, names: Sequence[str]) -> AsyncIterator[None]:
    """Hold the build of ``names`` for this process (session advisory locks on a connection of their
    own, released with it if the process dies); :class:`BuildBusy` when another holds one."""
    held: list[str] = []
    async with pool.acquire() as conn:
        try:
            for name in names:
                if not await conn.fetchval(Q.build_try_lock, name):
                    raise BuildBusy(f"{name} is being built by another process")
                held.append(name)
            yield
        finally:
            for name in held:
                await conn.fetchval(Q.build_unlock, name)


async def create_shadow(conn: asyncpg.Connection, table: str, statements: Sequence[str]) -> None:
    """The empty shadow table (``table`` quoted), in a short transaction of its own: any other build's
    shadow table is left alone."""
    async with conn.transaction():
        await conn.execute(SHADOW_LOCK)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW}; DROP TABLE IF EXISTS {SHADOW}.{table}")
        for statement in statements:
            await conn.execute(statement)


async def drop_shadow_if_empty(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SHADOW_LOCK)
        if not await conn.fetchval(Q.shadow_objects, SHADOW):
            await conn.execute(f"DROP SCHEMA IF EXISTS {SHADOW}")


@dataclass(frozen=True)
class Built:
    block: int  # the checkpoint the shadow was built up to (-1: nothing indexed)
    block_hash: str | None
    events_s: float  # build rate, for the benchmark


async def status(pool: asyncpg.Pool, d: Definition) -> dict[str, object]:
    row = await pool.fetchrow(Q.served_version, d.name)
    served = row["version"] if row else None
    state = "current" if served == d.version else ("unrecorded" if served is None else "changed")
    return {"name": d.name, "served": served, "wanted": d.version, "state": state}


async def record_if_unrecorded(pool: asyncpg.Pool, d: Definition) -> None:
    """A database migrated before versions existed serves the shipped definition."""
    if (await status(pool, d))["state"] == "unrecorded":
        await pool.execute(Q.record_version, d.name, d.version, None)


async def build(pool: asyncpg.Pool, d: Definition, chain_id: int) -> Built:
    q = d.queries
    started = time.monotonic()
    async with pool.acquire() as conn:
        await create_shadow(conn, d.name, [q.create])
        async with conn.transaction(isolation="repeatable_read"):
            cp = await conn.fetchrow(Q.checkpoint, chain_id)
            block, block_hash = (cp["block_number"], cp["block_hash"]) if cp else (-1, None)
            await conn.execute(q.build_unkeyed, chain_id, *d.token_arrays(), -1, block)
            events = await conn.fetchval(
                "SELECT count(*) FROM chain_events WHERE chain_id = $1 AND block_number <= $2", chain_id, block
            )
        await conn.execute(q.key_table)
    elapsed = max(time.monotonic() - started, 1e-9)
    log.info("built %s %s up to block %d (%d events, %.1fs)", d.name, d.version, block, events, elapsed)
    return Built(block, block_hash, events / elapsed)


async def finish(pool: asyncpg.Pool, d: Definition, chain_id: int, built: Built, keep: int = 0) -> None:
    """Catch up under the write locks, swap, announce a resync; retried while the indexer holds a lock."""
    deadline = time.monotonic() + 120
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await _catch_up_and_swap(conn, d, chain_id, built)
            break
        except asyncpg.LockNotAvailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    await drop_shadow_if_empty(pool)
    await drop_old(pool, keep)


async def _catch_up_and_swap(conn: asyncpg.Connection, d: Definition, chain_id: int, built: Built) -> None:
    q = d.queries
    # chain_events first (waiting, holding nothing); the rest without waiting: a writer that took
    # them in another order (a reorg) makes this attempt fail and retry, never deadlock.
    await conn.execute("LOCK TABLE chain_events IN EXCLUSIVE MODE")
    await conn.execute(f"LOCK TABLE {', '.join(LOCKED)} IN EXCLUSIVE MODE NOWAIT")
    cp = await conn.fetchrow(Q.checkpoint, chain_id)
    upto = cp["block_number"] if cp else -1
    start = built.block
    if await replaced(conn, chain_id, built, upto):
        log.warning("a reorg replaced block %d during the build: rebuilding %s whole", built.block, d.name)
        await conn.execute(f"TRUNCATE {SHADOW}.{d.name}")
        start = -1
    await conn.execute(q.build, chain_id, *d.token_arrays(), start, upto)
    await conn.execute(q.copy_other_chains, chain_id)
    await conn.execute(q.check_table)
    archive = f"projection_v_{time.time_ns()}"  # digits only: a safe identifier
    await conn.execute(
        f"CREATE SCHEMA {archive}; ALTER TABLE public.{d.name} SET SCHEMA {archive}; "
        f"ALTER TABLE {SHADOW}.{d.name} SET SCHEMA public"
    )
    await conn.execute(Q.record_version, d.name, d.version, upto)
    payload = {"chain_id": chain_id, "resync": True, "reason": f"projection {d.name} upgraded"}
    await conn.execute(Q.notify_resync, json.dumps(payload))
    log.info("swapped %s to %s at block %d (old kept as %s)", d.name, d.version, upto, archive)


async def replaced(conn: asyncpg.Connection, chain_id: int, built: Built, upto: int) -> bool:
    """Whether a reorg replaced the block the shadow was built up to (then its rows are stale)."""
    if built.block < 0:
        return False
    if upto < built.block:
        return True
    stored = await conn.fetchval(Q.block_hash, chain_id, built.block)
    if stored is not None:
        return bool(stored != built.block_hash)
    # Not stored: pruned as final (below the oldest block kept), or unknown, then assume the worst.
    return not built.block < (await conn.fetchval(Q.oldest_block, chain_id) or -1)


async def drop_old(pool: asyncpg.Pool, keep: int) -> None:
    for row in (await pool.fetch(Q.kept_versions))[keep:]:
        await pool.execute(f"DROP SCHEMA IF EXISTS {row['nspname']} CASCADE")  # (another build's drop_old too)


async def upgrade(pool: asyncpg.Pool, d: Definition, chain_id: int, keep: int = 0) -> Built:
    async with build_lock(pool, [d.name]):
        built = await build(pool, d, chain_id)
        await finish(pool, d, chain_id, built, keep)
    return built
