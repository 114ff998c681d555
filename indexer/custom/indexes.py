"""Deferred secondary indexes: a long backfill writes the configured tables without their filter indexes.

A configured table keeps one btree per filter of the API (``address`` and each indexed argument)
beside its primary key. The primary key grows at its right edge; the filter btrees take each row
at a random place, and once they outgrow PostgreSQL's shared buffers every COPY pays for random
page writes: at 10M ERC-20 transfers the configuration path fell from 33,000 to 22,000 events/s
(bench/README.md, "10M events"). Building a btree once from sorted rows costs a fraction of that.

So when a backfill is projected (its rows so far over the blocks it has left) to add at least
``min_rows`` rows to a table that holds fewer rows than that, the table's filter indexes are dropped and
built again (``CREATE INDEX``, all of them before the indexer follows the head) when the backfill
reaches its target. Meanwhile the API's filtered reads of that table walk its primary key (slower,
still correct) and unfiltered ones are unchanged. Nothing is recorded but the catalog: a restart
finds the missing indexes and builds them at the end of its own backfill (or at once when there is
none, or when its backfill is too short to defer). Only the indexer (the chain's writer-lock holder)
drops or builds them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping

import asyncpg

from core.db.identifiers import CUSTOM_SCHEMA, quote
from indexer.custom.sources import CustomSources

log = logging.getLogger("indexer.custom")

DEFER_MIN_ROWS = 1_000_000  # INDEXER_DEFER_INDEXES_ROWS: the projected rows a table must get (0: never defer)
BUILD_MEMORY = "256MB"  # maintenance_work_mem of the builds (the server's default is 64 MB)
LOCK_TIMEOUT = "2s"  # a drop waits this long for readers of the table, else the table keeps its indexes


class DeferredIndexes:
    def __init__(self, pool: asyncpg.Pool, sources: CustomSources, min_rows: int = DEFER_MIN_ROWS) -> None:
        self.pool = pool
        self.sources = sources  # the live definitions: their tables are the ones written
        self.min_rows = min_rows
        self._missing: bool | None = None  # None: not read from the catalog yet
        self.begin()

    def wanted(self) -> dict[str, list[tuple[str, str]]]:
        """Table -> its filter indexes (name, CREATE INDEX), for every table written now."""
        return {name: table.index_ddl() for name, table in self.sources.tables.items()}

    async def missing(self, conn: asyncpg.Connection) -> list[tuple[str, str]]:
        wanted = self.wanted()
        present = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2::text[])",
                CUSTOM_SCHEMA,
                list(wanted),
            )
        }
        return [(name, ddl) for indexes in wanted.values() for name, ddl in indexes if name not in present]

    def begin(self) -> None:
        """A backfill starts: nothing written by it yet, nothing decided."""
        self._rows: Counter[str] = Counter()
        self._blocks = 0
        self._decided = self.min_rows <= 0

    async def grew(self, counts: Mapping[str, int], blocks: int, remaining: int) -> list[str]:
        """A backfill wrote ``counts`` rows per table over ``blocks`` blocks and has ``remaining`` to go:
        once the rows so far, projected over the rest, reach ``min_rows`` for a table, the filter
        indexes of those tables are dropped (once a backfill). The tables deferred (may be none)."""
        if self._decided:
            return []
        self._rows.update({t: n for t, n in counts.items() if t in self.sources.tables})
        self._blocks += blocks
        projected = {t: n * remaining // max(self._blocks, 1) for t, n in self._rows.items()}
        candidates = {t: rows for t, rows in projected.items() if rows >= self.min_rows}
        if not candidates:
            return []
        self._decided = True
        return await self._drop(candidates)

    async def _drop(self, projected: Mapping[str, int]) -> list[str]:
        deferred = []
        async with self.pool.acquire() as conn:
            sizes = {
                r["relname"]: max(int(r["reltuples"]), 0)
                for r in await conn.fetch(
                    "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = $1 AND c.relname = ANY($2::text[])",
                    CUSTOM_SCHEMA,
                    list(projected),
                )
            }
            for table, rows in projected.items():
                if sizes.get(table, 0) >= rows:
                    continue  # as big already as what is coming: keeping its indexes is cheaper
                try:
                    async with conn.transaction():
                        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                        for name, _ in self.wanted()[table]:
                            await conn.execute(f"DROP INDEX IF EXISTS {quote(CUSTOM_SCHEMA)}.{quote(name)}")
                except asyncpg.LockNotAvailableError:
                    log.warning("%s: readers held it for %s; its indexes are kept", table, LOCK_TIMEOUT)
                    continue
                deferred.append(table)
                self._missing = True
                log.info("%s: filter indexes built when the backfill ends (~%d rows to come)", table, rows)
        return deferred

    async def restore(self) -> int:
        """Build every missing filter index of the written tables; the number built (0: none missing)."""
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
