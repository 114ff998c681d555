"""The indexer's database side: checkpoint, blocks, raw events, and the atomic batch write."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from core.db import Queries
from core.db.chains import register_chain
from core.db.copy import copy_payload
from core.db.leader import LeaderLock
from indexer.blocks import Checkpoint, Header
from indexer.codec import EVENT_COLUMNS, UNDECODABLE, UNDECODABLE_LOGS
from indexer.custom.sources import CustomBatch
from indexer.custom.store import CustomStore
from indexer.projections import Projections
from indexer.rows import BatchRows

QUERIES = Queries(Path(__file__).with_name("queries.sql"))


class Store:
    def __init__(
        self, pool: asyncpg.Pool, chain_id: int, projections: Projections, custom: CustomStore | None = None
    ) -> None:
        self.pool = pool
        self.chain_id = chain_id
        self.q = QUERIES
        self.projections = projections
        self.custom = custom

    async def prepare(self, genesis_hash: str) -> bool:
        """Register the chain; on a reset dev chain, drop what was indexed from the old one.

        The configured contracts' tables are created first (and their known children loaded).
        """
        async with self.pool.acquire() as conn:
            if self.custom is not None:
                await self.custom.ensure_tables(conn)
            async with conn.transaction():
                reset = await register_chain(conn, "indexer", self.chain_id, genesis_hash)
                if reset:
                    for name in ("events", "custom_logs", "blocks", "balances", "transfers", "mints", "checkpoint"):
                        await conn.execute(self.q[f"reset_chain_{name}"], self.chain_id)
                    await self.projections.contracts.reset(conn, self.chain_id)
                    if self.custom is not None:
                        await self.custom.reset(conn, self.chain_id)
            if self.custom is not None:
                await self.custom.load_children(conn, self.chain_id)
            return reset

    async def reload_children(self) -> None:
        """After a rollback: the factory children are those still in the database."""
        if self.custom is not None:
            async with self.pool.acquire() as conn:
                await self.custom.load_children(conn, self.chain_id)

    async def checkpoint(self) -> Checkpoint | None:
        row = await self.pool.fetchrow(self.q.get_checkpoint, self.chain_id)
        return Checkpoint(row["block_number"], row["block_hash"]) if row else None

    async def recent_blocks(self, below: int, limit: int) -> list[Checkpoint]:
        rows = await self.pool.fetch(self.q.recent_blocks, self.chain_id, below, limit)
        return [Checkpoint(r["number"], r["hash"]) for r in rows]

    async def write_batch(
        self,
        rows: BatchRows,
        headers: list[Header],
        checkpoint: Header,
        custom: CustomBatch | None = None,
        *,
        durable: bool = True,
    ) -> None:
        """Raw events, projections, configured contracts' rows, block hashes and the checkpoint, in one transaction.

        ``durable=False`` (a backfill far behind the head) commits without waiting for the WAL
        flush. That is safe here: the checkpoint moves in the same transaction as its rows, so a
        database crash can only lose a tail of whole, most recent transactions, rows and
        checkpoint together, and the indexer fetches those blocks again from the older checkpoint
        it then reads. Readers may have seen the lost rows meanwhile; the re-fetch writes the same
        rows again (or, if the chain reorganized in between, the parent-hash check handles it as
        any other reorg).
        """
        chain_id = self.chain_id
        async with self.pool.acquire() as conn, conn.transaction():
            if not durable:
                await conn.execute(self.q.commit_without_flush)
            if custom is not None and self.custom is not None:
                await self.custom.write(conn, chain_id, custom)
            if rows.events or rows.events_text:
                if rows.events:
                    await conn.copy_records_to_table("chain_events", columns=EVENT_COLUMNS, records=rows.events)
                await copy_payload(conn, "chain_events", rows.events_text, EVENT_COLUMNS)  # the fetch worker's
                await self.projections.write(conn, chain_id, rows.projections)
            await conn.execute(
                self.q.upsert_blocks,
                chain_id,
                [h.number for h in headers],
                [h.hash for h in headers],
                [h.parent_hash for h in headers],
                [h.timestamp for h in headers],
            )
            await conn.execute(self.q.set_checkpoint, chain_id, checkpoint.number, checkpoint.hash)
            await conn.execute(
                self.q.notify,
                json.dumps(
                    {
                        "chain_id": chain_id,
                        "block": checkpoint.number,
                        "hash": checkpoint.hash,
                        "events": rows.n_events + (custom.count if custom else 0),
                    }
                ),
            )
        if any(event == UNDECODABLE for _, event in rows.counts):
            for contract, event in rows.undecodable_labels():
                UNDECODABLE_LOGS.labels(contract, event).inc()

    async def rollback_to(self, ancestor: Checkpoint) -> None:
        """Undo everything above ``ancestor`` in one transaction."""
        chain_id = self.chain_id
        async with self.pool.acquire() as conn, conn.transaction():
            await self.projections.revert_after(conn, chain_id, ancestor.number)
            if self.custom is not None:
                await self.custom.rollback(conn, chain_id, ancestor.number)
            await conn.execute(self.q.delete_events_after, chain_id, ancestor.number)
            # (configured contracts' raw logs: even those of a contract no longer configured)
            await conn.execute(self.q.custom_delete_logs_after, chain_id, ancestor.number)
            await conn.execute(self.q.custom_history_rollback, chain_id, ancestor.number)
            await conn.execute(self.q.delete_blocks_after, chain_id, ancestor.number)
            await conn.execute(self.q.set_checkpoint, chain_id, ancestor.number, ancestor.hash)
            await conn.execute(
                self.q.notify,
                json.dumps({"chain_id": chain_id, "reorg": True, "block": ancestor.number, "hash": ancestor.hash}),
            )

    async def prune_blocks(self, below: int) -> None:
        await self.pool.execute(self.q.prune_blocks, self.chain_id, below)


INDEXER_LOCK_KEY = 0x696E6478  # "indx": with the chain id, the advisory lock only one indexer per chain holds


def indexer_lock(dsn: str, chain_id: int) -> LeaderLock:
    """The lock that makes one indexer per chain the writer; the others wait as standbys."""
    return LeaderLock(dsn, chain_id, key=INDEXER_LOCK_KEY, role="indexer")
