"""The indexer's outer loop: hot standby until this process holds the chain's writer lock, then index.

Losing the lock (its session ends with a Postgres restart) or a retryable failure outside the indexing
pass (e.g. ``prepare`` while the database is away) sends the process back to standby with a capped
exponential backoff; it never exits for an outage. A restart re-runs ``prepare`` like a fresh start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.backoff import Backoff, mark
from core.db.leader import LeaderLock
from core.db.outage import DatabaseUnavailable
from core.errors import RetryableError
from indexer.app import Indexer
from indexer.metrics import LEADER

log = logging.getLogger("indexer")


async def run_as_leader(
    indexer: Indexer, lock: LeaderLock, stop: asyncio.Event, poll_interval: float, ws_url: str | None = None
) -> None:
    """Wait (hot standby) until this process holds the chain's writer lock, then index; repeat after a loss."""
    waiting_logged = False
    backoff = Backoff()
    while not stop.is_set():
        try:
            acquired = await lock.try_acquire()
        except DatabaseUnavailable as exc:
            mark("database", False)
            log.warning("cannot reach the writer lock (%s); retrying", exc)
            await backoff.wait(stop)
            continue
        mark("database", True)
        if not acquired:
            if not waiting_logged:
                log.info("another indexer holds chain %d; waiting as standby", lock.chain_id)
                waiting_logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            continue
        LEADER.set(1)
        backoff.reset()
        log.info("acquired the writer lock for chain %d", lock.chain_id)
        waiting_logged = False
        try:
            await indexer.run(stop, poll_interval, lock, ws_url)
        except RetryableError as exc:
            if isinstance(exc, DatabaseUnavailable):
                mark("database", False)
            log.warning("indexing interrupted (%s); taking the writer lock again", exc)
            await lock.release()
            await backoff.wait(stop)
        finally:
            LEADER.set(0)
