"""History of a factory's child contract added to the configuration after indexing began.

(Any other contract added with history is built beside and swapped in whole: ``versions.with_history``,
``indexer/custom/rebuild.py``, and so are a factory's children when the factory is added with history too:
they are found in its history, ``indexer/custom/history.py``. Only a child contract added to a factory
indexed already still takes this path, its tables filled while served.)

When the indexer starts and finds a configured contract it has never indexed on this chain
while the checkpoint is already past the contract's start block, it records a catch-up
target (the checkpoint) and indexes that contract alone from its start block up to the
target, one range per transaction with its ``done`` mark; the main loop, which now includes
the contract, covers the blocks after the target. A crash resumes after ``done``. A reorg
below the target is handled by the main loop's rollback, which deletes every configured
table's rows above the common ancestor, catch-up rows included, and re-indexes them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from indexer.custom.sources import RAW_LOGS, UNDECODABLE_ROWS, CustomSources
from indexer.custom.store import CustomStore

log = logging.getLogger("indexer.custom")
GetLogs = Callable[[int, int, list[str]], Awaitable[list[dict[str, Any]] | None]]
BlockTimes = Callable[[list[int]], Awaitable[dict[int, datetime]]]


async def plan(pool: asyncpg.Pool, store: CustomStore, chain_id: int, checkpoint: int | None) -> dict[str, int]:
    """Register unseen contracts; the first block each still needs to catch up (none when fresh)."""
    async with pool.acquire() as conn, conn.transaction():
        known = {r["contract"]: r for r in await conn.fetch(store.q.custom_progress, chain_id)}
        pending: dict[str, int] = {}
        for name, contract in store.sources.contracts.items():
            row = known.get(name)
            if row is None:
                # Nothing indexed yet: the main loop starts at or before every start block.
                target = checkpoint if checkpoint is not None and checkpoint >= contract.start_block else -1
                done = contract.start_block - 1 if target >= 0 else -1
                await conn.execute(store.q.custom_progress_add, chain_id, name, target, done)
                row = {"target": target, "done": done}
            if row["done"] < row["target"]:
                pending[name] = row["done"] + 1
        return pending


async def catch_up(
    pool: asyncpg.Pool, store: CustomStore, chain_id: int, get_logs: GetLogs, times: BlockTimes, *, step: int = 2000
) -> int:
    """Index each pending contract's history up to its target; returns the rows written."""
    async with pool.acquire() as conn:
        targets = {r["contract"]: r for r in await conn.fetch(store.q.custom_progress, chain_id)}
    written = 0
    for name, contract in store.sources.contracts.items():
        row = targets.get(name)
        if row is None or row["done"] >= row["target"]:
            continue
        parent = store.sources.contracts[contract.factory.event.contract] if contract.factory else None
        alone = CustomSources([contract, *([parent] if parent else [])], chain_id)
        async with pool.acquire() as conn:
            await store.load_children(conn, chain_id, alone)
        mine = {t.table for t in contract.tables}
        start, target = row["done"] + 1, row["target"]
        log.info("%s: catching up blocks %d..%d", name, start, target)
        while start <= target:
            end = min(target, start + step - 1)
            logs = await get_logs(start, end, alone.addresses())
            if logs is None:
                step = max(1, step // 2)
                continue
            children = [c for c in alone.discover(logs) if c.contract == name] if alone.has_factories else []
            if children:
                known = set(alone.addresses())
                alone.add_children(children)
                if new := sorted({c.address for c in children} - known):
                    extra = await get_logs(start, end, new)
                    if extra is None:
                        step = max(1, step // 2)
                        continue
                    logs = logs + extra
            decoded = alone.decode(logs, await times(sorted({int(g["blockNumber"], 16) for g in logs})))
            rows = {table: records for table, records in decoded.items() if table in mine}
            if raw := [r for r in decoded.get(UNDECODABLE_ROWS, []) if r[6] == name]:
                rows[UNDECODABLE_ROWS] = raw  # stored raw, never skipped
            if raw := [r for r in decoded.get(RAW_LOGS, []) if r[7] == name]:
                rows[RAW_LOGS] = raw
            async with pool.acquire() as conn, conn.transaction():
                await store.write_rows(conn, chain_id, rows, children)
                await conn.execute(store.q.custom_progress_done, chain_id, name, end)
            written += sum(len(r) for r in rows.values())
            start = end + 1
    return written
