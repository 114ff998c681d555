"""The configured contracts' database side: their tables (created from the ABI, recorded in
``custom_event_tables``), and the writes and rollbacks that run inside the indexer's batch
transaction, so they share its exactly-once checkpoint and reorg guarantees."""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg

from core.db import Queries
from core.db.identifiers import CUSTOM_SCHEMA, check, qualified
from core.errors import ConfigError
from indexer.codec import EVENT_COLUMNS, UNDECODABLE_LOGS
from indexer.custom.sources import RAW_LOG_COLUMNS, RAW_LOGS, UNDECODABLE_ROWS, Child, CustomBatch, CustomSources

log = logging.getLogger("indexer.custom")


class CustomStore:
    def __init__(self, queries: Queries, sources: CustomSources) -> None:
        self.q = queries
        self.sources = sources
        # Every table ever registered (configured now or not): a rollback must cover them all.
        self.registered: list[str] = []

    async def ensure_tables(self, conn: asyncpg.Connection) -> None:
        """Create the configured event tables that do not exist yet; refuse a changed definition."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('custom_event_tables'))")
            existing = {r["table_name"]: r for r in await conn.fetch(self.q.custom_registered)}
            for table in self.sources.tables.values():
                columns = [c.as_json() for c in table.columns]
                row = existing.get(table.table)
                if row is not None:
                    if row["signature"] != table.signature or row["columns"] != columns:
                        raise ConfigError(
                            f"{table.table} exists for {row['signature']}, the configuration now says "
                            f"{table.signature}: use another contract name (or drop the table)"
                        )
                    await conn.execute(table.upgrade_ddl())
                    continue
                for statement in table.ddl():
                    await conn.execute(statement)
                await conn.execute(
                    self.q.custom_register,
                    table.contract,
                    table.event,
                    table.table,
                    table.signature,
                    table.topic0,
                    columns,
                )
                log.info("created table %s.%s for %s", CUSTOM_SCHEMA, table.table, table.signature)
            self.registered = sorted({*existing, *self.sources.tables})

    async def load_children(
        self, conn: asyncpg.Connection, chain_id: int, sources: CustomSources | None = None
    ) -> None:
        sources = sources or self.sources
        rows = await conn.fetch(self.q.custom_children, chain_id)
        sources.forget_children()
        sources.add_children(Child(*r) for r in rows)

    async def write(self, conn: asyncpg.Connection, chain_id: int, batch: CustomBatch) -> None:
        await self.write_rows(conn, chain_id, batch.rows, batch.children)

    async def write_rows(
        self, conn: asyncpg.Connection, chain_id: int, rows: dict[str, list[tuple[Any, ...]]], children: list[Child]
    ) -> None:
        for name, records in rows.items():
            if name == UNDECODABLE_ROWS:  # raw logs that could not be decoded: into chain_events, counted
                await conn.copy_records_to_table("chain_events", columns=EVENT_COLUMNS, records=records)
                for record in records:
                    UNDECODABLE_LOGS.labels(record[6], json.loads(record[8])["event"]).inc()
                continue
            if name == RAW_LOGS:
                await conn.copy_records_to_table("custom_logs", columns=RAW_LOG_COLUMNS, records=records)
                continue
            table = self.sources.tables[name]
            await conn.copy_records_to_table(
                check(name), schema_name=CUSTOM_SCHEMA, columns=table.column_names, records=records
            )
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
            logs = [
                {
                    "blockNumber": hex(r["block_number"]),
                    "logIndex": hex(r["log_index"]),
                    "blockHash": r["block_hash"],
                    "transactionHash": r["tx_hash"],
                    "address": r["address"],
                    "topics": r["topics"],
                    "data": r["data"],
                }
                for r in rows
            ]
            decoded = self.sources.decode(logs, {r["block_number"]: r["block_time"] for r in rows}, keep_raw=False)
            decoded.pop(UNDECODABLE_ROWS, None)
            await self.write_rows(conn, chain_id, decoded, [])
            replayed += len(rows)
            after = (rows[-1]["block_number"], rows[-1]["log_index"])
        return replayed

    async def rollback(self, conn: asyncpg.Connection, chain_id: int, block: int) -> None:
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
