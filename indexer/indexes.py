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
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import asyncpg

from core.db.identifiers import CUSTOM_SCHEMA, quote
from indexer.custom import QUERIES
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
        rows[("", TRANSFERS)] = transfers  # "": the search path's schema, where the migrations made it
    return rows


def _keys(tables: Iterable[Table]) -> tuple[list[str], list[str]]:
    """The tables as the two arrays the catalog queries take."""
    pairs = list(tables)
    return [schema for schema, _ in pairs], [table for _, table in pairs]


class DeferredIndexes:
    def __init__(
        self, pool: asyncpg.Pool, sources: CustomSources | None, *, own: bool, min_rows: int = DEFER_MIN_ROWS
    ) -> None:
        self.pool = pool
        self.sources = sources  # the configured tables' live definitions: their tables are the ones written
        self.own = own  # our projections are written (a manifest with contracts)
        self.min_rows = min_rows
        self._missing: bool | None = None  # None: not read from the catalog yet
        self.begin()

    def wanted(self) -> dict[Table, list[tuple[str, str]]]:
        """(schema, table) -> its deferrable indexes (name, CREATE INDEX), for every table written now."""
        tables = self.sources.tables if self.sources is not None else {}
        wanted = {(CUSTOM_SCHEMA, name): table.index_ddl() for name, table in tables.items()}
        if self.own:
            for table, indexes in OWN.items():
                wanted[("", table)] = [
                    (n, f"CREATE INDEX IF NOT EXISTS {quote(n)} ON {quote(table)} {keys}") for n, keys in indexes
                ]
        return wanted

    async def missing(self, conn: asyncpg.Connection) -> list[tuple[str, str]]:
        wanted = self.wanted()
        present = {tuple(r) for r in await conn.fetch(QUERIES.deferrable_indexes_present, *_keys(wanted))}
        return [
            (name, ddl) for table, indexes in wanted.items() for name, ddl in indexes if (table[0], name) not in present
        ]

    def begin(self) -> None:
        """A backfill starts: nothing written by it yet, nothing decided."""
        self._rows: Counter[Table] = Counter()
        self._blocks = 0
        self.decided = self.min_rows <= 0  # once true, this backfill's batches need not be counted

    async def grew(self, rows: Mapping[Table, int], blocks: int, remaining: int) -> list[str]:
        """A backfill wrote ``rows`` per table over ``blocks`` blocks and has ``remaining`` to go: once
        the rows so far, projected over the rest, reach ``min_rows`` for a table, the deferrable
        indexes of those tables are dropped (once a backfill). The tables deferred (may be none)."""
        if self.decided:
            return []
        self._rows.update(rows)
        self._blocks += blocks
        projected = {t: n * remaining // max(self._blocks, 1) for t, n in self._rows.items()}
        candidates = {t: n for t, n in projected.items() if n >= self.min_rows}
        if not candidates:
            return []
        self.decided = True
        return await self._drop(candidates)

    async def _drop(self, projected: Mapping[Table, int]) -> list[str]:
        wanted = self.wanted()
        projected = {t: n for t, n in projected.items() if t in wanted}
        deferred = []
        async with self.pool.acquire() as conn:
            counted = await conn.fetch(QUERIES.deferrable_table_rows, *_keys(projected))
            sizes = {(r["schema"], r["table_name"]): r["rows"] for r in counted}
            for table, rows in projected.items():
                schema, name = table
                if sizes.get(table, 0) >= rows:
                    continue  # as big already as what is coming: keeping its indexes is cheaper
                prefix = f"{quote(schema)}." if schema else ""
                try:
                    async with conn.transaction():
                        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                        for index, _ in wanted[table]:
                            await conn.execute(f"DROP INDEX IF EXISTS {prefix}{quote(index)}")
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
            for i, (name, ddl) in enumerate(missing, 1):
                started = time.monotonic()
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
                    await conn.execute(ddl)
                log.info("built index %s (%d/%d) in %.1fs", name, i, len(missing), time.monotonic() - started)
        self._missing = False
        return len(missing)
