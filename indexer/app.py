"""The indexer's run loop: prepare, backfill, then follow the head; the pieces are composed here.

- reading ranges (``indexer/ranges.py``): adaptive ``eth_getLogs``, headers, completeness checks,
  decoding and rows, with no database;
- the historical pipeline (``indexer/historical.py``): backfill with fetch-ahead, long ranges
  read in a forked worker (``indexer/fetcher.py``);
- following the head (``indexer/realtime.py``): one range at a time, reorgs rolled back on proof;
- the writer (``indexer/writer.py``): the checkpoint, atomic batch writes, rollbacks.

The writer lock around this loop (hot standby) is ``indexer/leading.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.backoff import Backoff, mark
from core.chain.genesis import check_genesis
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db.leader import LeaderLock
from core.db.outage import DatabaseUnavailable, database_errors
from core.errors import RetryableError
from indexer import completeness
from indexer.custom import catchup, rebuild
from indexer.decode import LogDecoder
from indexer.historical import Historical
from indexer.indexes import DEFER_MIN_ROWS, DeferredIndexes
from indexer.ranges import RangeReader
from indexer.realtime import HeadWatcher, Realtime
from indexer.store import Store
from indexer.writer import Writer

log = logging.getLogger("indexer")


class Indexer:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        rpc: RpcClient,
        *,
        max_block_range: int = 2000,
        finality_depth: int = 0,
        target_logs: int = 5000,
        fetch_worker: bool = False,
        near_head: int = completeness.NEAR_HEAD,
        defer_indexes_rows: int = DEFER_MIN_ROWS,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.rpc = rpc
        custom = store.custom.sources if store.custom is not None else None
        rows = store.projections.rows(manifest.chain_id)
        self.reader = RangeReader(
            rpc,
            LogDecoder(manifest),
            rows,
            manifest.addresses,
            custom,
            max_block_range=max_block_range,
            target_logs=target_logs,
            near_head=near_head,
        )
        self.writer = Writer(store, self.reader, manifest, finality_depth=finality_depth)
        indexes = DeferredIndexes(store.pool, custom, own=bool(manifest.contracts), min_rows=defer_indexes_rows)
        self.historical = Historical(self.reader, self.writer, fetch_worker=fetch_worker, indexes=indexes)
        self.realtime = Realtime(self.reader, self.writer)

    @property
    def addresses(self) -> list[str]:
        return self.reader.addresses

    @property
    def base_block(self) -> int:
        return self.writer.base_block

    @property
    def start_block(self) -> int | None:
        """The first block to index when nothing is indexed yet (default: ``base_block``)."""
        return self.writer.start_block

    @start_block.setter
    def start_block(self, value: int | None) -> None:
        self.writer.start_block = value

    async def prepare(self) -> None:
        genesis = await check_genesis(self.rpc, self.manifest.chain_id, self.manifest.genesis_hash)
        if await self.store.prepare(genesis):
            log.warning("the chain was reset since the last run: dropped the rows indexed from the old chain")
        if self.store.custom is not None:
            checkpoint = await self.store.checkpoint()
            pool, custom, chain_id = self.store.pool, self.store.custom, self.manifest.chain_id
            if await catchup.plan(pool, custom, chain_id, checkpoint.number if checkpoint else None):
                rows = await catchup.catch_up(pool, custom, chain_id, self.reader.get_logs, self.reader.block_times)
                log.info("configured contracts caught up: %d rows", rows)

    async def backfill(self, target: int | None = None, *, depth: int = 4) -> int:
        """Index up to ``target`` (default: the head), pipelined; the number of blocks written."""
        return await self.historical.backfill(target, depth=depth)

    async def sync_once(self, target: int | None = None) -> int:
        """Index the next range up to the head, handling reorgs; 0 when caught up (or waiting)."""
        return await self.realtime.sync_once(target)

    async def run(
        self, stop: asyncio.Event, poll_interval: float, lock: LeaderLock | None = None, ws_url: str | None = None
    ) -> None:
        """Backfill, then follow the head: woken by newHeads when a websocket is available, else polling."""
        await self.prepare()
        log.info("indexing %d contracts from block %d", len(self.addresses), self.base_block)
        wake = asyncio.Event()
        watcher = asyncio.create_task(HeadWatcher(ws_url, wake).run(stop)) if ws_url else None
        rebuilding = self.rebuild_pending()  # changed configured tables: built beside while we follow the head
        backoff = Backoff()
        try:
            while not stop.is_set():
                if lock is not None:
                    await lock.check()  # never write after losing the leader lock (LeaderLost: back to standby)
                wake.clear()
                try:
                    async with database_errors():  # a Postgres restart is retryable, like an RPC outage
                        advanced = await self.backfill() or await self.sync_once()
                    backoff.reset()
                    mark("database", True)
                except RetryableError as exc:
                    log.warning("retryable failure: %s", exc)
                    if isinstance(exc, DatabaseUnavailable):
                        mark("database", False)
                    await backoff.wait(stop)
                    continue
                if not advanced:
                    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
                    await asyncio.wait(waiters, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED)
                    for waiter in waiters:
                        waiter.cancel()
        finally:
            for task in (watcher, rebuilding):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def rebuild_pending(self, keep: int = 0) -> asyncio.Task[list[str]] | None:
        """Build and swap the pending configured tables in the background (README "Upgrading projections")."""
        custom = self.store.custom
        if custom is None or not custom.pending:
            return None
        pool, reader = self.store.pool, self.reader
        step = reader.state.max_range  # the history's eth_getLogs spans: INDEXER_MAX_BLOCK_RANGE at most
        return asyncio.create_task(
            rebuild.upgrade_pending(pool, custom, reader.get_logs, reader.block_times, keep, step=step)
        )
