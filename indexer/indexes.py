"""Deferred secondary indexes: a long backfill writes its big tables without their read-only btrees.

A configured table keeps one btree per filter of the API (``address`` and each indexed argument)
beside its primary key, and ``token_transfers`` one per side of the API's transfer pages (sender,
receiver). A primary key grows at its right edge; these btrees take each row at a random place, and
once they outgrow PostgreSQL's shared buffers every COPY pays for random page writes: at 10M ERC-20
transfers the configuration path fell from 33,000 to 22,000 events/s (bench/README.md, "10M
events"). Building a btree once from sorted rows costs a fraction of that. No write of the indexer
reads them, except a rollback's balance refresh (``refresh_balance_blocks``): the backfill builds
them before it hands over to the head follower, which rolls back.

So when a backfill is projected (its rows so far over the blocks it has left) to add at least
``min_rows`` rows to a table that holds fewer rows than that, the table's deferrable indexes are
dropped, and built again (``CREATE INDEX``, one by one, logged) when the backfill reaches its target
or hands over (returns nothing written). Meanwhile the API's filtered reads of that table walk its
primary key (slower, still correct) and unfiltered ones are unchanged. Nothing is recorded but the
catalog: a restart finds the missing indexes and builds them at the end of its own backfill, or at
once when there is none. Only the indexer (the chain's writer-lock holder) drops or builds them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

import asyncpg

from core.db.identifiers import CUSTOM_SCHEMA, quote
from indexer.custom.sources import CustomSources

if TYPE_CHECKING:
    from indexer.ranges import Batch

log = logging.getLogger("indexer")

DEFER_MIN_ROWS = 1_000_000  # INDEXER_DEFER_INDEXES_ROWS: the projected rows a table must get (0: never defer)
BUILD_MEMORY = "256MB"  # maintenance_work_mem of the builds (the server's default is 64 MB)
LOCK_TIMEOUT = "2s"  # a drop waits this long for readers of the table, else the table keeps its indexes
TRANSFERS = "token_transfers"
# Our projections' deferrable btrees, as their migrations (0012) define them (a test compares the
# catalog's definitions before a drop and after the build).
OWN = {
    TRANSFERS: [
        ("token_transfers_sender_page", "(chain_id, sender, block_number, log_index)"),
        ("token_transfers_receiver_page", "(chain_id, receiver, block_number, log_index)"),
    ]
}

Table = tuple[str, str]  # (schema, table)


def batch_rows(batch: Batch) -> dict[Table, int]:
    """The rows a batch adds to each table whose indexes may be deferred."""
    rows = {(CUSTOM_SCHEMA, t): n for t, n in batch.custom.counts().items()} if batch.custom is not None else {}
    p = batch.rows.projections
    transfers = len(p.transfers) or p.transfers_text.count(b"\n")
    if transfers:
        rows[("", TRANSFERS)] = transfers  # "": the application's schema (current_schema())
    return rows


class DeferredIndexes:
    def __init__(
        self, pool: asyncpg.Pool, sources: CustomSources | None, *, own: bool, min_rows: int = DEFER_MIN_ROWS
    ) -> None:
        self.pool = pool
        self.sources = sources  # the configured tables' live definitions: their tables are the ones written
        self.own = own  # our projections are written (a manifest with contracts)
        self.min_rows = min_rows
        self._schema = ""  # current_schema(), read once
        self._missing: bool | None = None  # None: not read from the catalog yet
        self.begin()

    async def wanted(self, conn: asyncpg.Connection) -> dict[Table, list[tuple[str, str]]]:
        """(schema, table) -> its deferrable indexes (name, CREATE INDEX), for every table written now."""
        if not self._schema:
            self._schema = str(await conn.fetchval("SELECT current_schema()"))
        wanted = {(CUSTOM_SCHEMA, n): t.index_ddl() for n, t in (self.sources.tables if self.sources else {}).items()}
        if self.own:
            for table, indexes in OWN.items():
                at = f"{quote(self._schema)}.{quote(table)}"
                wanted[("", table)] = [
                    (n, f"CREATE INDEX IF NOT EXISTS {quote(n)} ON {at} {keys}") for n, keys in indexes
                ]
        return wanted

    def _resolved(self, table: Table) -> Table:
        return (table[0] or self._schema, table[1])

    async def missing(self, conn: asyncpg.Connection) -> list[tuple[str, str]]:
        wanted = await self.wanted(conn)
        schemas, tables = zip(*(self._resolved(t) for t in wanted), strict=True) if wanted else ((), ())
        present = {
            (r["schemaname"], r["indexname"])
            for r in await conn.fetch(
                "SELECT schemaname, indexname FROM pg_indexes WHERE (schemaname, tablename) IN "
                "(SELECT * FROM unnest($1::text[], $2::text[]))",
                list(schemas),
                list(tables),
            )
        }
        return [
            (name, ddl)
            for table, indexes in wanted.items()
            for name, ddl in indexes
            if (self._resolved(table)[0], name) not in present
        ]

    def begin(self) -> None:
        """A backfill starts: nothing written by it yet, nothing decided."""
        self._rows: Counter[Table] = Counter()
        self._blocks = 0
        self._decided = self.min_rows <= 0

    async def grew(self, rows: Mapping[Table, int], blocks: int, remaining: int) -> list[str]:
        """A backfill wrote ``rows`` per table over ``blocks`` blocks and has ``remaining`` to go: once
        the rows so far, projected over the rest, reach ``min_rows`` for a table, the deferrable
        indexes of those tables are dropped (once a backfill). The tables deferred (may be none)."""
        if self._decided:
            return []
        self._rows.update(rows)
        self._blocks += blocks
        projected = {t: n * remaining // max(self._blocks, 1) for t, n in self._rows.items()}
        candidates = {t: n for t, n in projected.items() if n >= self.min_rows}
        if not candidates:
            return []
        self._decided = True
        return await self._drop(candidates)

    async def _drop(self, projected: Mapping[Table, int]) -> list[str]:
        deferred = []
        async with self.pool.acquire() as conn:
            wanted = await self.wanted(conn)
            projected = {t: n for t, n in projected.items() if t in wanted}
            schemas, tables = zip(*(self._resolved(t) for t in projected), strict=True) if projected else ((), ())
            sizes = {
                (r["nspname"], r["relname"]): max(int(r["reltuples"]), 0)
                for r in await conn.fetch(
                    "SELECT n.nspname, c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = "
                    "c.relnamespace WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
                    list(schemas),
                    list(tables),
                )
            }
            for table, rows in projected.items():
                schema, name = self._resolved(table)
                if sizes.get((schema, name), 0) >= rows:
                    continue  # as big already as what is coming: keeping its indexes is cheaper
                try:
                    async with conn.transaction():
                        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                        for index, _ in wanted[table]:
                            await conn.execute(f"DROP INDEX IF EXISTS {quote(schema)}.{quote(index)}")
                except asyncpg.LockNotAvailableError:
                    log.warning("%s: readers held it for %s; its indexes are kept", name, LOCK_TIMEOUT)
                    continue
                deferred.append(name)
                self._missing = True
                log.info("%s: indexes built when the backfill ends (~%d rows to come)", name, rows)
        return deferred

    async def restore(self) -> int:
        """Build every missing deferrable index of the written tables; the number built (0: none missing)."""
        if self._missing is False:
            return 0
        async with self.pool.acquire() as conn:
            missing = await self.missing(conn)
            if missing:
                await conn.execute(f"SET maintenance_work_mem = '{BUILD_MEMORY}'")
                try:
                    for i, (name, ddl) in enumerate(missing, 1):
                        started = time.monotonic()
                        await conn.execute(ddl)
                        log.info("built index %s (%d/%d) in %.1fs", name, i, len(missing), time.monotonic() - started)
                finally:
                    await conn.execute("RESET maintenance_work_mem")
        self._missing = False
        return len(missing)
