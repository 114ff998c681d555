"""The historical pipeline: backfill up to a target with fetching and writing overlapped.

A fetcher reads ranges ahead (logs, headers, decoding, rows) into a bounded queue while the writer
commits them in order; each range must build on the previous one's last hash. Long backfills read
in a forked worker (``indexer/fetcher.py``) so the second core works; short ones, such as a few
new blocks at the head, in a task of this process. On a reorg or an inconsistent read the
pipeline stops and the head follower (``indexer/realtime.py``), which handles reorgs, takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable

from indexer.fetcher import FetchWorker
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
    def __init__(self, reader: RangeReader, writer: Writer, *, fetch_worker: bool = False) -> None:
        self.reader = reader
        self.writer = writer
        self.fetch_worker = fetch_worker  # backfill fetches and decodes in a second process
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
            return 0
        queue: asyncio.Queue[Batch | Exception | None] = asyncio.Queue(maxsize=depth)

        # A worker process pays off on long ranges only; following the head stays in-process.
        far = target - checkpoint.number > self.worker_min_blocks
        worker = FetchWorker(reader, checkpoint.number + 1, target, depth) if self.fetch_worker and far else None
        next_batch: Callable[[], Awaitable[Batch | Exception | None]]
        if worker is not None:
            worker.start()
            task = None
            next_batch = functools.partial(_from_worker, worker, reader)
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
                if not await writer.apply(batch, parent, head, durable=durable):
                    break
                parent = batch.headers[batch.end].hash
                written += batch.end - batch.start + 1
                events += batch.rows.n_events + (batch.custom.count if batch.custom else 0)
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
            await writer.forget_unwritten_children()
        return written

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
