"""The indexing loop: follow the head, fetch logs in adaptive ranges, detect reorgs, write atomically."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from core.backoff import Backoff, mark
from core.chain.genesis import check_genesis
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db.leader import LeaderLock
from core.db.outage import DatabaseUnavailable, database_errors
from core.errors import RequestTooLarge, RetryableError
from indexer import completeness, reorg_proof
from indexer.custom import catchup
from indexer.custom.sources import CustomBatch
from indexer.decode import LogDecoder
from indexer.fetcher import FetchWorker
from indexer.realtime import HeadWatcher
from indexer.store import BatchRows, Checkpoint, Header, Store

log = logging.getLogger("indexer")

HEAD = Gauge("indexer_chain_head_block", "Latest block number seen on the chain")
INDEXED = Gauge("indexer_indexed_block", "Latest block number written to Postgres")
LAG = Gauge("indexer_lag_blocks", "Chain head minus indexed block")
EVENTS = Counter("indexer_events_total", "Events written", ["contract", "event"])
REORGS = Counter("indexer_reorgs_total", "Reorgs handled")
REORG_DEPTH = Histogram(
    "indexer_reorg_depth_blocks", "Depth of handled reorgs", buckets=(1, 2, 3, 5, 8, 13, 21, 64, 256)
)
LEADER = Gauge("indexer_is_leader", "1 when this process holds the chain's writer lock")

REORG_WINDOW = 256  # minimum blocks of hashes kept below the head for the ancestor search
WORKER_MIN_BLOCKS = 256  # backfills shorter than this fetch in-process (no fork per new head)
DURABLE_WITHIN = 256  # backfill commits this close to the head wait for the WAL flush (see Store.write_batch)


class ReorgDetected(Exception):
    """The chain no longer extends the indexed blocks at this number."""


@dataclass(frozen=True)
class Batch:
    start: int
    end: int
    logs: list[dict[str, Any]]
    headers: dict[int, Header]
    rows: BatchRows  # decoded and prepared for writing
    custom: CustomBatch | None = None


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
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.rpc = rpc
        self.decoder = LogDecoder(manifest)
        self.custom = store.custom.sources if store.custom is not None else None
        self.max_range = max_block_range
        # Start small and grow: the right range depends on event density, unknown up front.
        self.range = min(max_block_range, 64)
        self.target_logs = target_logs
        self.fetch_worker = fetch_worker  # backfill fetches and decodes in a second process
        self.near_head = near_head  # blocks below the head read block by block, by hash (0: none)
        self.worker_min_blocks = WORKER_MIN_BLOCKS
        # Block hashes kept below the head for the ancestor search: at least the unfinalized span.
        self.window = max(REORG_WINDOW, finality_depth + 1)
        self.start_block: int | None = None  # first block when nothing is indexed yet (default: deploy block)
        self._last_progress = 0.0

    @property
    def addresses(self) -> list[str]:
        return self.manifest.addresses + (self.custom.addresses() if self.custom else [])

    @property
    def base_block(self) -> int:
        """The first block worth indexing: the deployment's, or a configured contract's start if earlier."""
        starts = [self.manifest.deploy_block] if self.manifest.contracts or not self.custom else []
        if self.custom is not None and self.custom.start_block is not None:
            starts.append(self.custom.start_block)
        return min(starts)

    async def prepare(self) -> None:
        genesis = await check_genesis(self.rpc, self.manifest.chain_id, self.manifest.genesis_hash)
        if await self.store.prepare(genesis):
            log.warning("the chain was reset since the last run: dropped the rows indexed from the old chain")
        if self.store.custom is not None:
            checkpoint = await self.store.checkpoint()
            pool, custom, chain_id = self.store.pool, self.store.custom, self.manifest.chain_id
            if await catchup.plan(pool, custom, chain_id, checkpoint.number if checkpoint else None):
                rows = await catchup.catch_up(pool, custom, chain_id, self._get_logs)
                log.info("configured contracts caught up: %d rows", rows)

    async def _start_checkpoint(self) -> Checkpoint:
        checkpoint = await self.store.checkpoint()
        if checkpoint is not None:
            return checkpoint
        start = max((self.start_block or self.base_block) - 1, 0)
        block = await self.rpc.get_block(start)
        assert block is not None
        return Checkpoint(start, block["hash"].lower())

    async def sync_once(self, target: int | None = None) -> int:
        """Index the next range up to the head; returns 0 when caught up (or waiting), >0 after progress.

        Progress is the number of blocks indexed, or 1 after a reorg rollback. A head below the
        checkpoint, or a checkpoint block the node lacks, is a lagging node: wait (``reorg_proof``).
        """
        head = await self.rpc.block_number()
        HEAD.set(head)
        checkpoint = await self._start_checkpoint()
        if checkpoint.number > head:
            return 0  # the answering node is behind us: it proves nothing
        if (theirs := await self._hash_at(checkpoint.number)) != checkpoint.hash:
            return int(theirs is not None and await self._handle_reorg(checkpoint))
        LAG.set(head - checkpoint.number)
        if checkpoint.number >= head:
            return 0
        start = checkpoint.number + 1
        last = head if target is None else min(head, target)
        if start > last:
            return 0
        batch = await self._fetch(start, min(last, start + self.range - 1))
        if batch is None:
            return 0
        try:
            if not await self._apply(batch, checkpoint.hash, head):
                return 0
        except ReorgDetected:
            return int(await self._handle_reorg(checkpoint))
        return batch.end - batch.start + 1

    async def backfill(self, target: int | None = None, *, depth: int = 4) -> int:
        """Index up to ``target`` (default: the head) with fetching and writing pipelined.

        A fetcher task reads ranges ahead (logs, headers, decoding) into a bounded queue while
        the writer commits them in order; each range must build on the previous one's last
        hash. On a reorg or an inconsistent read the pipeline stops and ``sync_once`` (which
        handles reorgs) takes over. Returns the number of blocks written.
        """
        head = await self.rpc.block_number()
        HEAD.set(head)
        target = head if target is None else min(target, head)
        checkpoint = await self._start_checkpoint()
        if checkpoint.number >= target or await self._hash_at(checkpoint.number) != checkpoint.hash:
            return 0
        queue: asyncio.Queue[Batch | Exception | None] = asyncio.Queue(maxsize=depth)

        # A worker process pays off on long ranges only; following the head stays in-process.
        far = target - checkpoint.number > self.worker_min_blocks
        worker = FetchWorker(self, checkpoint.number + 1, target, depth) if self.fetch_worker and far else None
        next_batch: Callable[[], Awaitable[Batch | Exception | None]]
        if worker is not None:
            worker.start()
            task = None
            next_batch = worker.get
        else:
            task = asyncio.create_task(self._fetch_ahead(queue, checkpoint.number + 1, target))
            next_batch = queue.get
        written, events, started = 0, 0, time.monotonic()
        parent = checkpoint.hash
        try:
            while (batch := await next_batch()) is not None:
                if isinstance(batch, Exception):  # e.g. the chain got shorter under the fetcher (a reorg)
                    log.info("backfill fetch failed (%s); switching to block-by-block handling", batch)
                    break
                durable = head - batch.end <= DURABLE_WITHIN
                if not await self._apply(batch, parent, head, durable=durable):
                    break
                parent = batch.headers[batch.end].hash
                written += batch.end - batch.start + 1
                events += len(batch.rows.events) + (batch.custom.count if batch.custom else 0)
                self._progress(batch.end, target, written, events, started)
        except ReorgDetected:
            log.info("reorg detected during backfill; switching to block-by-block handling")
        finally:
            if worker is not None:
                worker.stop()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.custom is not None and self.custom.has_factories:
                await self.store.reload_children()  # forget children found in ranges fetched but not written
        return written

    async def _fetch_ahead(self, queue: asyncio.Queue[Batch | Exception | None], start: int, target: int) -> None:
        """The in-process fetcher: ranges from ``start`` to ``target`` into ``queue``, then None (or the error)."""
        try:
            while start <= target:
                batch = await self._fetch(start, min(target, start + self.range - 1))
                if batch is not None:
                    await queue.put(batch)
                    start = batch.end + 1
        except Exception as exc:  # noqa: BLE001 (handed to the writer, which stops the pipeline)
            await queue.put(exc)  # else the writer would wait for the queue forever
            return
        await queue.put(None)

    async def _fetch(self, start: int, end: int) -> Batch | None:
        """Logs and the needed headers of ``start..end``, decoded; None when the range had to shrink."""
        addresses = self.addresses
        end = completeness.clamp(self.rpc, start, end, self.near_head)
        read = await self._read_logs(start, end, addresses)
        if read is None:
            return None
        logs = read.logs
        custom = None
        if self.custom is not None:
            custom = CustomBatch()
            if self.custom.has_factories and (children := self.custom.discover(logs)):
                # Children announced in this range were not in the filter: fetch their logs too.
                custom.children = children
                self.custom.add_children(children)
                known = set(addresses)
                if new := sorted({c.address for c in children} - known):
                    extra = await self._read_logs(start, end, new, adapt=False)
                    if extra is None:
                        return None
                    addresses = addresses + new
                    read.blocks |= extra.blocks
                    read.by_hash &= extra.by_hash
                    logs = sorted(logs + extra.logs, key=lambda g: (int(g["blockNumber"], 16), int(g["logIndex"], 16)))
            custom.rows = self.custom.decode(logs)
        needed = sorted({start, end} | {int(item["blockNumber"], 16) for item in logs})
        read.blocks |= await completeness.headers(self.rpc, [n for n in needed if n not in read.blocks])
        await completeness.confirm_empty(self.rpc, read, completeness.suspects(read, logs, addresses), addresses)
        headers = {n: Header.from_rpc(read.blocks[n]) for n in needed}
        decoded = [d for d in (self.decoder.decode(item) for item in logs) if d is not None]
        return Batch(start, end, logs, headers, self.store.rows_for(decoded), custom)

    async def _apply(self, batch: Batch, parent_hash: str, head: int, *, durable: bool = True) -> bool:
        """Verify a fetched range against its parent and commit it; False if the read was inconsistent.

        ``durable=False`` for backfill ranges far below the head (see ``Store.write_batch``).
        """
        if batch.headers[batch.start].parent_hash != parent_hash:
            log.info("block %d no longer builds on our checkpoint: reorg", batch.start)
            raise ReorgDetected(batch.start)
        if not self.consistent(batch):
            return False
        await self.store.write_batch(
            batch.rows, list(batch.headers.values()), batch.headers[batch.end], batch.custom, durable=durable
        )
        self._count(batch.rows.counts, batch.custom)
        INDEXED.set(batch.end)
        LAG.set(max(0, head - batch.end))
        if batch.end // 1000 != (batch.start - 1) // 1000:
            await self.store.prune_blocks(head - self.window)
        return True

    def consistent(self, batch: Batch) -> bool:
        """Every log is from the block whose header was fetched (False: the chain moved during the fetch)."""
        headers = batch.headers
        if any(
            item.get("removed") or item["blockHash"].lower() != headers[int(item["blockNumber"], 16)].hash
            for item in batch.logs
        ):
            log.info("logs and headers disagree in %d..%d (chain moved during fetch); retrying", batch.start, batch.end)
            return False
        return True

    async def _hash_at(self, number: int) -> str | None:
        block = await self.rpc.get_block(number)
        return block["hash"].lower() if block else None

    async def _get_logs(
        self, start: int, end: int, addresses: list[str], *, adapt: bool = True
    ) -> list[dict[str, Any]] | None:
        read = await self._read_logs(start, end, addresses, adapt=adapt)
        return None if read is None else read.logs

    async def _read_logs(
        self, start: int, end: int, addresses: list[str], *, adapt: bool = True
    ) -> completeness.RangeRead | None:
        """The range's logs, checked complete (``completeness``); None when the range had to shrink."""
        if not addresses:  # an empty filter would match every contract's logs
            return completeness.RangeRead([], {}, self.rpc.providers.pick(), set(range(start, end + 1)))
        try:
            read = await completeness.read_range(self.rpc, start, end, addresses, self.near_head)
        except RequestTooLarge as exc:
            span = end - start + 1
            if span == 1:
                raise
            if "range" in exc.message.lower():
                self.max_range = span - 1  # a fixed block-range limit: never ask for more again
            self.range = max(1, span // 2)
            log.info("eth_getLogs %d..%d refused (%s); range now %d", start, end, exc.message, self.range)
            return None
        except completeness.IncompleteAnswer:
            raise  # read again later (the provider was rejected): not a reason to narrow the range
        except RetryableError as exc:
            # Timeouts on wide ranges: narrow down (the client already retried the same request).
            if self.range == 1:
                raise
            self.range = max(1, self.range // 2)
            log.info("eth_getLogs %d..%d failed (%s); range now %d", start, end, exc, self.range)
            return None
        if not adapt:
            return read
        # Aim for ~target_logs per batch: bounded memory and a steady pipeline.
        span, found = end - start + 1, len(read.logs)
        if found > 2 * self.target_logs:
            self.range = max(1, span * self.target_logs // found)
        elif found < self.target_logs and span >= self.range:
            self.range = min(self.max_range, self.range * 2)
        return read

    async def _handle_reorg(self, checkpoint: Checkpoint) -> bool:
        """Roll back to the common ancestor among stored blocks, only on proof; True after a rollback."""
        stored = await self.store.recent_blocks(checkpoint.number, self.window)
        verdict = await reorg_proof.find_ancestor(self.rpc, stored)
        if not verdict.proven:
            log.info("no proof of a reorg below block %d (a lagging node?); reading again later", checkpoint.number)
            return False
        ancestor = verdict.ancestor
        if ancestor is None:
            number = max(self.base_block - 1, 0)
            block = await self.rpc.get_block(number)
            assert block is not None
            ancestor = Checkpoint(number, block["hash"].lower())
        depth = checkpoint.number - ancestor.number
        await self.store.rollback_to(ancestor)
        await self.store.reload_children()
        REORGS.inc()
        REORG_DEPTH.observe(depth)
        INDEXED.set(ancestor.number)
        log.warning("reorg: rolled back %d blocks to %d (%s)", depth, ancestor.number, ancestor.hash[:10])
        return True

    def _count(self, counts: dict[tuple[str, str], int], custom: CustomBatch | None) -> None:
        for (contract, event), n in counts.items():
            EVENTS.labels(contract, event).inc(n)
        if custom is not None and self.custom is not None:
            for table, rows in custom.rows.items():
                if spec := self.custom.tables.get(table):  # (raw undecodable rows are counted where written)
                    EVENTS.labels(spec.contract, spec.event).inc(len(rows))

    def _progress(self, end: int, target: int, blocks: int, events: int, started: float) -> None:
        now = time.monotonic()
        if now - self._last_progress < 5 and end < target:
            return
        self._last_progress = now
        elapsed = max(now - started, 1e-9)
        rate = blocks / elapsed
        eta = (target - end) / rate if rate else float("inf")
        log.info(
            "backfill %d/%d  %.0f blocks/s  %.0f events/s  %d events  ETA %.0fs",
            end, target, rate, events / elapsed, events, eta,
        )  # fmt: skip

    async def run(
        self, stop: asyncio.Event, poll_interval: float, lock: LeaderLock | None = None, ws_url: str | None = None
    ) -> None:
        """Backfill, then follow the head: woken by newHeads when a websocket is available, else polling."""
        await self.prepare()
        log.info("indexing %d contracts from block %d", len(self.addresses), self.base_block)
        wake = asyncio.Event()
        watcher = asyncio.create_task(HeadWatcher(ws_url, wake).run(stop)) if ws_url else None
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
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
