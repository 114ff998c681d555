"""LISTEN on the indexer's ``chain_events`` channel (one connection per process).

Each NOTIFY (or, failing that, a 1 s tick) re-reads the checkpoint: this process's
:class:`IndexedState` moves (waking ``min_block`` reads, moving cache keys) and the feed
producer, if this process holds the lease, announces the changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from redis.exceptions import RedisError

from api.live.feed import FeedProducer, cancelling
from api.live.state import IndexedState
from api.store import ApiStore, Indexed
from core.backoff import Backoff, mark
from core.db.outage import DatabaseUnavailable, is_connection_error

log = logging.getLogger("api.listener")
CHANNEL = "chain_events"
# Called after each step with the indexed block and the reorgs heard since the last step.
AfterStep = Callable[[Indexed, list[tuple[int, str]]], Awaitable[None]]


class Listener:
    def __init__(
        self,
        dsn: str,
        store: ApiStore,
        state: IndexedState,
        producer: FeedProducer,
        tick: float = 1.0,
        *,
        after_step: AfterStep | None = None,
    ):
        self.dsn = dsn
        self.after_step = after_step
        self.store = store
        self.state = state
        self.producer = producer
        self.tick = tick
        self._wake = asyncio.Event()
        self._reorgs: list[tuple[int, str]] = []
        self._resyncs: list[str] = []  # a projection was swapped (README "Upgrading projections")

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            if int(data.get("chain_id", -1)) != self.store.chain_id:
                return
            if data.get("reorg"):
                self._reorgs.append((int(data["block"]), str(data["hash"])))
            if data.get("resync"):
                self._resyncs.append(str(data.get("reason") or "a projection was upgraded"))
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring a malformed %s payload: %.200s", CHANNEL, payload)
        self._wake.set()

    async def step(self) -> None:
        indexed, lsn = await self.store.checkpoint()
        self.state.update(indexed, lsn)
        reorgs, self._reorgs = self._reorgs, []
        resyncs, self._resyncs = self._resyncs, []
        try:
            await self.producer.step(indexed, reorgs, resyncs)
        except RedisError as exc:  # the LISTEN connection stays; the next step announces what this one missed
            self._reorgs = reorgs + self._reorgs
            self._resyncs = resyncs + self._resyncs
            mark("redis", False)
            log.warning("feed step failed (%s); retrying on the next tick", exc)
            return
        mark("redis", True)
        if self.after_step is not None:
            try:
                await self.after_step(indexed, reorgs)
            except Exception as exc:
                if cancelling():
                    raise asyncio.CancelledError from exc
                log.warning("listener hook failed: %s", exc)

    async def run(self) -> None:
        """LISTEN and step until cancelled; a lost connection (Postgres restart) is re-established with a
        capped exponential backoff, and the first step after it catches up from the checkpoint."""
        backoff = Backoff(initial=0.2, cap=5.0)
        while not cancelling():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(CHANNEL, self._on_notify)
                while not conn.is_closed() and not cancelling():
                    self._wake.clear()
                    await self.step()
                    backoff.reset()
                    mark("database", True)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.tick)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if cancelling():
                    raise asyncio.CancelledError from exc
                if is_connection_error(exc) or isinstance(exc, DatabaseUnavailable):
                    mark("database", False)
                log.warning("listener: %s: %s; reconnecting", type(exc).__name__, exc)
                await backoff.wait()
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
