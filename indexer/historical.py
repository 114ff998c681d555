"""The historical pipeline: backfill up to a target with fetching and writing overlapped.

A fetcher reads ranges ahead (logs, headers, decoding, rows) into a bounded queue while the writer
commits them in order; each range must build on the previous one's last hash. Long backfills read
in a forked worker (``indexer/fetcher.py``) so the second core works; short ones, such as a few
new blocks at the head, in a task of this process. On a reorg or an inconsistent read the
pipeline stops and the head follower (``indexer/realtime.py``), which handles reorgs, takes over.
A long backfill builds its big tables' read-only indexes when it ends (``indexer/indexes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from indexer.fetcher import FetchWorker
from indexer.indexes import DeferredIndexes, batch_rows
from indexer.metrics import HEAD
from indexer.ranges import Batch, RangeReader
from indexer.writer import ReorgDetected, Writer

log = logging.getLogger("indexer")

WORKER_MIN_BLOCKS = 256  # backfills shorter than this fetch in-process (no fork per new head)
DURABLE_WITHIN = 256  # backfill commits this close to the head wait for the WAL flush (see Store.write_batch)


async def _from_worker(worker: FetchWorker, reader: RangeReader) -> Batch | None:
    """The worker's next batch; the reader adopts the range state the worker had after reading it."""
    fetched = await worker.get()
    if fetched is None:
        return None
    reader.state = fetched.state  # later reads (the head follower, the next backfill) start from its span
    return fetched.batch


class Historical:
    def __init__(
        self, reader: RangeReader, writer: Writer, *, fetch_worker: bool = False, indexes: DeferredIndexes | None = None
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.fetch_worker = fetch_worker  # backfill fetches and decodes in a second process
        self.indexes = indexes  # the big tables' read-only indexes, deferred during long backfills
        self.worker_min_blocks = WORKER_MIN_BLOCKS
        self._last_progress = 0.0

    async def backfill(self, target: int | None = None, *, depth: int = 4) -> int:
        """Index up to ``target`` (default: the head) with fetching and writing pipelined.

        Returns the number of blocks written (0 when caught up, or when the checkpoint's block is
        no longer on the chain: the head follower handles that).
        """
        reader, writer = self.reader, self.writer
        head = await reader.rpc.block_number()
        HEAD.set(head)
        target = head if target is None else min(target, head)
        checkpoint = await writer.checkpoint()
        if checkpoint.number >= target or await reader.hash_at(checkpoint.number) != checkpoint.hash:
            await self._restore_indexes()  # caught up: no index stays deferred (e.g. after a crash)
            return 0
        far = target - checkpoint.number > self.worker_min_blocks
        written, events, started = 0, 0, time.monotonic()
        parent = checkpoint.hash
        finished = False
        if self.indexes is not None:
            self.indexes.begin()
        try:
            async with self._fetched(checkpoint.number + 1, target, depth, far=far) as next_batch:
                while (batch := await next_batch()) is not None:
                    if isinstance(batch, Exception):  # e.g. the chain got shorter under the fetcher (a reorg)
                        log.info("backfill fetch failed (%s); switching to block-by-block handling", batch)
                        break
                    durable = head - batch.end <= DURABLE_WITHIN
                    if not await writer.apply(batch, parent, head, durable=durable):
                        break
                    parent = batch.headers[batch.end].hash
                    if far and self.indexes is not None and not self.indexes.decided:
                        blocks, remaining = batch.end - batch.start + 1, target - batch.end
                        await self.indexes.grew(batch_rows(batch), blocks, remaining)
                    written += batch.end - batch.start + 1
                    events += batch.rows.n_events + (batch.custom.count if batch.custom else 0)
                    self._progress(batch.end, target, written, events, started)
                finished = batch is None
        except ReorgDetected:
            log.info("reorg detected during backfill; switching to block-by-block handling")
        finally:
            await writer.forget_unwritten_children()
        if finished or not written:
            await self._restore_indexes()  # before the head follower (and its rollbacks) takes over
        return written

    @contextlib.asynccontextmanager
    async def _fetched(
        self, start: int, target: int, depth: int, *, far: bool
    ) -> AsyncIterator[Callable[[], Awaitable[Batch | Exception | None]]]:
        """The ranges from ``start`` to ``target`` read ahead, ``depth`` at most: the next one (an
        exception when reading failed; None after the last). A worker process pays off on long
        ranges only; following the head stays in-process."""
        if self.fetch_worker and far:
            worker = FetchWorker(self.reader, start, target, depth)
            worker.start()
            try:
                yield functools.partial(_from_worker, worker, self.reader)
            finally:
                worker.stop()
            return
        queue: asyncio.Queue[Batch | Exception | None] = asyncio.Queue(maxsize=depth)
        task = asyncio.create_task(self._fetch_ahead(queue, start, target))
        try:
            yield queue.get
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _restore_indexes(self) -> None:
        if self.indexes is not None:
            await self.indexes.restore()

    async def _fetch_ahead(self, queue: asyncio.Queue[Batch | Exception | None], start: int, target: int) -> None:
        """The in-process fetcher: ranges from ``start`` to ``target`` into ``queue``, then None (or the error)."""
        try:
            while start <= target:
                batch = await self.reader.next_batch(start, target, ahead=True)
                if batch is not None:
                    await queue.put(batch)
                    start = batch.end + 1
        except Exception as exc:  # noqa: BLE001 (handed to the writer, which stops the pipeline)
            await queue.put(exc)  # else the writer would wait for the queue forever
            return
        finally:
            self.reader.forget_ahead()
        await queue.put(None)

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
            end,
            target,
            rate,
            events / elapsed,
            events,
            eta,
        )
