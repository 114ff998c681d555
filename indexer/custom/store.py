"""The configured contracts' database side: their tables (created from the ABI, recorded in
``custom_event_tables``), and the writes and rollbacks that run inside the indexer's batch
transaction, so they share its exactly-once checkpoint and reorg guarantees."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import asyncpg

from core.db import Queries
from core.db.copy import copy_payload
from core.db.identifiers import CUSTOM_SCHEMA, check, qualified
from indexer.codec import EVENT_COLUMNS, UNDECODABLE_LOGS
from indexer.custom import versions
from indexer.custom.abi import EventTable
from indexer.custom.sources import (
    RAW_LOG_COLUMNS,
    RAW_LOGS,
    UNDECODABLE_ROWS,
    Child,
    CustomBatch,
    CustomSources,
    StaleBatch,
)
from indexer.custom.versions import Pending

log = logging.getLogger("indexer.custom")


def stored_log(r: Mapping[str, Any]) -> dict[str, Any]:
    """A ``custom_logs`` row as the node's log object (what ``CustomSources.decode`` reads)."""
    return {
        "blockNumber": hex(r["block_number"]),
        "logIndex": hex(r["log_index"]),
        "blockHash": r["block_hash"],
        "transactionHash": r["tx_hash"],
        "address": r["address"],
        "topics": r["topics"],
        "data": r["data"],
    }


def raw_log(record: tuple[Any, ...]) -> dict[str, Any]:
    """A raw-log record of a batch (``RAW_LOG_COLUMNS`` order) as the node's log object."""
    return stored_log(dict(zip(RAW_LOG_COLUMNS, record, strict=True)))


class CustomStore:
    def __init__(self, queries: Queries, sources: CustomSources) -> None:
        self.q = queries
        self.sources = sources  # what is written now: the served definitions (see versions.plan)
        self.wanted = list(sources.contracts.values())  # the configuration's
        # Every table ever registered (configured now or not): a rollback must cover them all.
        self.registered: list[str] = []
        self.pending: dict[str, Pending] = {}  # tables being rebuilt beside (indexer/custom/rebuild.py)

    async def ensure_tables(self, conn: asyncpg.Connection, chain_id: int | None = None) -> None:
        """Create the new tables of new contracts; a changed definition or a new event of an indexed
        contract is pending (built beside, then swapped), the served one written meanwhile."""
        chain_id = self.sources.chain_id if chain_id is None else chain_id
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('custom_event_tables'))")
            existing = {r["table_name"]: r for r in await conn.fetch(self.q.custom_registered)}
            known = {r["contract"] for r in await conn.fetch(self.q.custom_progress, chain_id)}
            cp = await conn.fetchrow(self.q.get_checkpoint, chain_id)
            for name in versions.with_history(self.wanted, known, cp["block_number"] if cp else None):
                # Known from now on, with nothing for the catch-up to do: its tables are built beside
                # from its history (indexer/custom/rebuild.py) and swapped in with their registration.
                await conn.execute(self.q.custom_progress_add, chain_id, name, -1, -1)
                known.add(name)
                log.warning("%s: added with history: its tables are built beside, then swapped", name)
            plan = versions.plan(self.wanted, existing, known)
            for table in (t for c in plan.live for t in c.tables):
                if table.table in existing:
                    await conn.execute(table.upgrade_ddl())
                    if table.table not in plan.pending:
                        await conn.execute(self.q.custom_register_abi, table.table, table.abi)
            for table in plan.create:
                for statement in table.ddl():
                    await conn.execute(statement)
                await self.register(conn, table)
                log.info("created table %s.%s for %s", CUSTOM_SCHEMA, table.table, table.signature)
            for name, p in plan.pending.items():
                was = versions.table_version(p.served) if p.served else "none"
                log.warning("%s: definition %s configured, %s served: built beside, then swapped", name,
                            versions.table_version(p.wanted), was)  # fmt: skip
            self.pending = plan.pending
            self.sources.adopt(plan.live, plan.raw_only)
            self.registered = sorted({*existing, *(t.table for t in plan.create)})

    async def register(self, conn: asyncpg.Connection, table: EventTable) -> None:
        columns = [c.as_json() for c in table.columns]
        await conn.execute(
            self.q.custom_register, table.contract, table.event, table.table, table.signature, table.topic0, columns,
            table.abi,
        )  # fmt: skip

    async def adopt_swapped(self, conn: asyncpg.Connection) -> bool:
        """Write the new definition of every pending table whose rebuild was swapped in (by anyone).

        The indexer's batch and the rebuild task both call it: one may adopt a table while the other
        awaits the registry, so only tables still pending after the read are adopted."""
        wanted = {name: versions.table_version(p.wanted) for name, p in self.pending.items()}
        rows = await conn.fetch(self.q.custom_registered_of, list(wanted))
        swapped = [
            r["table_name"]
            for r in rows
            if r["table_name"] in self.pending and versions.row_version(r) == wanted[r["table_name"]]
        ]
        if not swapped:
            return False
        for name in swapped:
            del self.pending[name]
        self.sources.adopt(*versions.live_definitions(self.wanted, self.pending))
        self.registered = sorted({*self.registered, *swapped})
        log.info("now writing the rebuilt %s", ", ".join(swapped))
        return True

    async def load_children(
        self, conn: asyncpg.Connection, chain_id: int, sources: CustomSources | None = None
    ) -> None:
        sources = sources or self.sources
        rows = await conn.fetch(self.q.custom_children, chain_id)
        sources.forget_children()
        sources.add_children(Child(*r) for r in rows)

    async def write(self, conn: asyncpg.Connection, chain_id: int, batch: CustomBatch) -> None:
        """The batch's rows, in its transaction. While a table is rebuilt, the raw log's lock is taken
        first (a swap holds it exclusively): a batch after a swap sees it and writes the new definition,
        decoded again from the batch's raw logs if it was decoded with the old one. A batch read before
        a history build handed factory children over is refused (``StaleBatch``: read it again)."""
        if self.pending:
            await conn.execute(self.q.custom_lock_logs)
            await self.adopt_swapped(conn)
        if batch.generation < self.sources.followed:
            raise StaleBatch(f"batch of generation {batch.generation}, children followed since {self.sources.followed}")
        rows, payloads = batch.rows, batch.payloads
        if batch.generation != self.sources.generation:
            if payloads:  # encoded with the old definitions, and its raw logs are text now: read it again
                raise StaleBatch(f"batch encoded with generation {batch.generation}, now {self.sources.generation}")
            rows = self.redecode(batch)
        await self.write_rows(conn, chain_id, rows, batch.children)
        for name, (_, data) in payloads.items():  # the fetch worker's COPY text (CustomBatch.encoded)
            table, columns, schema = self._destination(name)
            await copy_payload(conn, table, data, columns, schema=schema)

    def _destination(self, name: str) -> tuple[str, list[str], str | None]:
        """Where a batch's records of ``name`` go: (table, columns, schema) — the raw log, or an event table."""
        if name == RAW_LOGS:
            return "custom_logs", RAW_LOG_COLUMNS, None
        return check(name), self.sources.tables[name].column_names, CUSTOM_SCHEMA

    def redecode(self, batch: CustomBatch) -> dict[str, list[tuple[Any, ...]]]:
        raw = batch.rows.get(RAW_LOGS, [])
        self.sources.add_children(batch.children)
        rows = self.sources.decode([raw_log(r) for r in raw], {r[1]: r[4] for r in raw}, keep_raw=False)
        if raw:
            rows[RAW_LOGS] = raw
        return rows

    async def write_rows(
        self, conn: asyncpg.Connection, chain_id: int, rows: dict[str, list[tuple[Any, ...]]], children: list[Child]
    ) -> None:
        for name, records in rows.items():
            if name == UNDECODABLE_ROWS:  # raw logs that could not be decoded: into chain_events, counted
                await conn.copy_records_to_table("chain_events", columns=EVENT_COLUMNS, records=records)
                for record in records:
                    UNDECODABLE_LOGS.labels(record[6], json.loads(record[8])["event"]).inc()
                continue
            table, columns, schema = self._destination(name)
            await conn.copy_records_to_table(table, schema_name=schema, columns=columns, records=records)
        if children:
            c = children
            await conn.execute(
                self.q.custom_insert_children,
                chain_id,
                [x.contract for x in c],
                [x.address for x in c],
                [x.factory for x in c],
                [x.block_number for x in c],
                [x.log_index for x in c],
            )

    async def replay(self, conn: asyncpg.Connection, chain_id: int, chunk: int = 20_000) -> int:
        """Rebuild the configured contracts' tables from their raw log (``custom_logs``), no RPC; the logs replayed.

        Logs that could not be decoded stay where they are (``chain_events``, stored raw).
        """
        await self.load_children(conn, chain_id)
        for name in self.sources.tables:
            await conn.execute(f"DELETE FROM {qualified(name)} WHERE chain_id = $1", chain_id)
        contracts, replayed, after = sorted(self.sources.contracts), 0, (-1, -1)
        while rows := await conn.fetch(self.q.custom_logs_page, chain_id, contracts, after[0], after[1], chunk):
            logs = [stored_log(r) for r in rows]
            decoded = self.sources.decode(logs, {r["block_number"]: r["block_time"] for r in rows}, keep_raw=False)
            decoded.pop(UNDECODABLE_ROWS, None)
            await self.write_rows(conn, chain_id, decoded, [])
            replayed += len(rows)
            after = (rows[-1]["block_number"], rows[-1]["log_index"])
        return replayed

    async def rollback(self, conn: asyncpg.Connection, chain_id: int, block: int) -> None:
        if self.pending:  # a table swapped in meanwhile is rolled back too
            await conn.execute(self.q.custom_lock_logs)
            await self.adopt_swapped(conn)
        for name in self.registered:
            await conn.execute(
                f"DELETE FROM {qualified(name)} WHERE chain_id = $1 AND block_number > $2", chain_id, block
            )
        await conn.execute(self.q.custom_delete_children_after, chain_id, block)

    async def reset(self, conn: asyncpg.Connection, chain_id: int) -> None:
        for name in self.registered:
            await conn.execute(f"DELETE FROM {qualified(name)} WHERE chain_id = $1", chain_id)
        await conn.execute(self.q.reset_chain_custom_children, chain_id)
        await conn.execute(self.q.reset_chain_custom_progress, chain_id)
        await conn.execute(self.q.reset_chain_custom_history, chain_id)
