"""Backfill's fetch side in a second process, so that the second core works.

``eth_getLogs`` + JSON parsing + decoding + header batches cost about as much CPU as the
database writes; in one process they share one core. :class:`FetchWorker` forks a child that
is handed only the :class:`~indexer.ranges.RangeReader` (no store, no database): it reads
``start..target`` (adaptive ranges, factory children included), checks each range's logs against
its headers, and hands each decoded batch (without the raw logs; its bulk rows as COPY text, a
``bytes`` a table: ``BatchRows.encoded``, ``CustomBatch.encoded``) to the writer through a bounded
queue as a :class:`Fetched`, with the reader's range state after it, which the parent adopts. While it
decodes a range it has already asked for the next one's logs (``RangeReader.next_batch(ahead=True)``).
The writer still checks every batch against its checkpoint's hash and commits exactly as before,
so killing either process at any moment loses and duplicates nothing.

The child dies with its parent (PR_SET_PDEATHSIG), ignores the parent's signal wiring, and
leaves with ``os._exit`` (it must not run the parent's cleanup on inherited connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from typing import Any

from core.errors import RetryableError
from indexer.ranges import Batch, RangeReader, RangeState

log = logging.getLogger("indexer.fetcher")


@dataclass(frozen=True)
class Fetched:
    """One message of the worker: a batch, and the reader's range state once it was read."""

    batch: Batch
    state: RangeState


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child(reader: RangeReader, start: int, target: int, out: Any) -> None:
    code = 0
    try:
        _die_with_parent()
        signal.set_wakeup_fd(-1)  # the parent's event loop owns that fd
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        asyncio.events._set_running_loop(None)  # forked from inside the parent's running loop (3.11)
        asyncio.run(_produce(reader, start, target, out))
    except BaseException as exc:  # noqa: BLE001 (reported to the parent, which decides)
        out.put(("error", f"{type(exc).__name__}: {exc}"))
        code = 1
    finally:
        out.close()
        out.join_thread()
        os._exit(code)


async def _produce(reader: RangeReader, start: int, target: int, out: Any) -> None:
    reader.rpc = reader.rpc.fork()  # a session of this process's own (the reader is this process's copy)
    try:
        while start <= target:
            batch = await reader.next_batch(start, target, ahead=True)
            if batch is None:
                continue
            if not batch.consistent():
                continue  # the chain moved during the fetch: read the range again
            # The raw logs stay here: the writer needs the decoded rows and the headers only; the bulk
            # rows go as COPY text (a bytes a table, not every field pickled: BatchRows/CustomBatch.encoded).
            custom = batch.custom.encoded(reader.custom.tables) if batch.custom and reader.custom else batch.custom
            out.put(Fetched(replace(batch, logs=[], rows=batch.rows.encoded(), custom=custom), reader.state))
            start = batch.end + 1
        out.put(None)
    finally:
        await reader.rpc.close()


class FetchWorker:
    """The child process and its bounded queue of decoded batches."""

    def __init__(self, reader: RangeReader, start: int, target: int, depth: int) -> None:
        context = multiprocessing.get_context("fork")
        self.queue: Any = context.Queue(maxsize=depth)
        self.process: BaseProcess = context.Process(
            target=_child, args=(reader, start, target, self.queue), name="indexer-fetch", daemon=True
        )

    def start(self) -> None:
        self.process.start()

    def _get(self) -> Any:
        while True:
            try:
                return self.queue.get(timeout=0.5)
            except queue.Empty:
                if not self.process.is_alive():
                    return ("error", f"the fetch worker exited with code {self.process.exitcode}")

    async def get(self) -> Fetched | None:
        """The next batch with the range state after it; None when the worker reached ``target``."""
        item = await asyncio.to_thread(self._get)
        if item is None or isinstance(item, Fetched):
            return item
        raise RetryableError(f"fetch worker: {item[1]}")

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.queue.cancel_join_thread()
        self.queue.close()
