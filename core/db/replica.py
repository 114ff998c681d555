"""Reads from a PostgreSQL streaming replica, writes to the primary (README "Read replicas").

A :class:`ReadRouter` holds the primary pool and, when ``DATABASE_READ_URL`` is set, a pool on a hot
standby. Only reads that ask for it go to the standby, and only inside a :class:`ReadScope` that allows
it (the API opens one per GET request); anything else (writes, background work, a read without a scope)
runs on the primary, so an unset replica changes nothing.

Freshness is measured in WAL positions (LSNs, as integers). A scope carries ``min_lsn``: the standby must
have replayed at least that much before it answers — the position a client's own write left on the
primary (read-your-writes) or the one at which this process saw the indexer reach a ``min_block``. A
standby behind it is waited for (``wait`` seconds, bounded), then the read runs on the primary. A
standby that cannot be reached, or cancels a query for a recovery conflict, is skipped for ``retry``
seconds: its reads go to the primary meanwhile, never to an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from prometheus_client import Counter, Gauge

from core.backoff import mark
from core.db.outage import cancelled, is_connection_error

log = logging.getLogger("db.replica")
T = TypeVar("T")

PRIMARY, REPLICA = "primary", "replica"
# The position the primary has written up to (≥ the commit of every transaction that has returned).
CURRENT_LSN = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
# What a standby has replayed (NULL on a server that is not in recovery).
REPLAYED_LSN = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
STANDBY_STATE = "SELECT pg_is_in_recovery() AS standby, (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replayed"
MAX_LSN = 2**63 - 1

READS = Counter(
    "api_reads_total",
    "Routed reads by the server that answered and why (replica; primary: lag, down, conflict)",
    ["source", "reason"],
)
REPLICA_LAG = Gauge("api_replica_lag_bytes", "WAL bytes the read replica had not replayed at the last check")


@dataclass
class ReadScope:
    """What one request's reads may use and must see."""

    replica_ok: bool = False
    min_lsn: int = 0  # the standby must have replayed at least this WAL position
    min_block: int | None = None  # an indexed read must reflect at least this block
    sources: set[str] = field(default_factory=set)  # where this scope's routed reads were answered

    def require_lsn(self, lsn: int | None) -> None:
        if lsn is not None:
            self.min_lsn = max(self.min_lsn, lsn)


_SCOPE: ContextVar[ReadScope | None] = ContextVar("read_scope", default=None)


def open_scope(*, replica_ok: bool, min_lsn: int = 0) -> ReadScope:
    """Start the read scope of the current task (a request); tasks it creates inherit it."""
    scope = ReadScope(replica_ok=replica_ok, min_lsn=min_lsn)
    _SCOPE.set(scope)
    return scope


def current_scope() -> ReadScope | None:
    return _SCOPE.get()


def parse_lsn(text: str | None) -> int | None:
    """A client's read-your-writes token: a decimal WAL position; anything else is ignored (None)."""
    if text is None or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_LSN else None


class _Behind(Exception):
    """The standby had not replayed what the scope needs within the wait."""


class _Unreachable(Exception):
    """No connection to the standby could be had (its cause says why)."""


# A hot standby cancels a query whose rows replay must remove ("conflict with recovery", SQLSTATE 40001):
# the read is retried on the primary.
_CONFLICTS = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


class ReadRouter:
    """The primary pool and an optional standby pool; :meth:`run` sends a read to the right one."""

    def __init__(
        self,
        primary: asyncpg.Pool,
        replica: asyncpg.Pool | None = None,
        *,
        wait: float = 0.2,
        retry: float = 5.0,
        timeout_ms: int = 0,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.wait = wait
        self.retry = retry
        self.timeout_ms = timeout_ms  # each read's statement_timeout, on either server (0: the server's own)
        self.poll = 0.01
        self._skip_until = 0.0  # monotonic time until which the standby is not tried
        self.last_error: str | None = None

    @property
    def configured(self) -> bool:
        return self.replica is not None

    @property
    def replica_up(self) -> bool:
        return self.replica is not None and time.monotonic() >= self._skip_until

    def mark_down(self, exc: BaseException) -> None:
        self._skip_until = time.monotonic() + self.retry
        self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        mark(REPLICA, False)
        log.warning("read replica unavailable (%s); reads go to the primary for %.1f s", self.last_error, self.retry)

    async def run(
        self,
        fn: Callable[[asyncpg.Connection], Awaitable[T]],
        *,
        snapshot: bool = False,
        accept: Callable[[T], bool] | None = None,
    ) -> T:
        """``fn(conn)`` on the standby when the scope allows it and the standby is fresh enough (and
        ``accept(result)``, when given, holds); else on the primary. ``snapshot``: in one read-only
        REPEATABLE READ transaction (several statements, one view)."""
        scope = _SCOPE.get()
        reason = "unrouted"
        if scope is not None and scope.replica_ok and self.replica is not None:
            if not self.replica_up:
                reason = "down"
            else:
                try:
                    result = await self._on_replica(self.replica, fn, scope, snapshot, accept)
                except _Behind:
                    reason = "lag"
                except _Unreachable as exc:
                    self.mark_down(exc.__cause__ or exc)
                    reason = "down"
                except Exception as exc:  # noqa: BLE001 (sorted by _fallback_reason, which re-raises the rest)
                    reason = self._fallback_reason(exc)
                else:
                    scope.sources.add(REPLICA)
                    READS.labels(REPLICA, "fresh").inc()
                    return result
        if scope is not None:
            scope.sources.add(PRIMARY)
        if self.replica is not None:
            READS.labels(PRIMARY, reason).inc()
        async with self.primary.acquire() as conn:
            return await _call(conn, fn, snapshot, self.timeout_ms)

    def _fallback_reason(self, exc: Exception) -> str:
        """Why a read the replica failed goes to the primary; anything else than a database error is raised."""
        if is_connection_error(exc):
            self.mark_down(exc)
            return "down"
        if isinstance(exc, asyncpg.QueryCanceledError):
            raise exc  # it ran out of time: the primary would spend as long again
        if isinstance(exc, _CONFLICTS):
            log.info("read replica cancelled a read (%s); retrying it on the primary", exc)
            return "conflict"
        if isinstance(exc, asyncpg.PostgresError):
            # E.g. a replica still behind a migration (an unknown column): the primary answers, and a real error
            # of the read shows there as it always did.
            log.warning("read replica failed a read (%s: %s); retrying it on the primary", type(exc).__name__, exc)
            return "error"
        raise exc

    async def _on_replica(
        self,
        pool: asyncpg.Pool,
        fn: Callable[[asyncpg.Connection], Awaitable[T]],
        scope: ReadScope,
        snapshot: bool,
        accept: Callable[[T], bool] | None,
    ) -> T:
        deadline = time.monotonic() + self.wait
        try:
            conn = await pool.acquire(timeout=max(self.wait, 1.0))
        except Exception as exc:  # refused, timed out, no such database or role: the replica is unusable
            raise _Unreachable from exc
        try:
            while True:
                # Replay position first, then the snapshot: a snapshot taken after replay reached L sees every
                # transaction that committed at or before L.
                replayed = 0
                if scope.min_lsn:
                    replayed = await conn.fetchval(REPLAYED_LSN)
                    if replayed is None:  # not a standby (promoted, or a misconfigured URL): no claim to check
                        raise _Behind
                if not scope.min_lsn or replayed >= scope.min_lsn:
                    result = await _call(conn, fn, snapshot, self.timeout_ms)
                    if accept is None or accept(result):
                        mark(REPLICA, True)
                        return result
                if time.monotonic() >= deadline:
                    raise _Behind
                await asyncio.sleep(self.poll)
        finally:
            await pool.release(conn)

    @property
    def _timeout(self) -> float | None:
        return self.timeout_ms / 1000 if self.timeout_ms else None

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.run(
            lambda conn: _bounded(conn.fetch(query, *args, timeout=self._timeout))
        )
        return rows

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.run(
            lambda conn: _bounded(conn.fetchrow(query, *args, timeout=self._timeout))
        )
        return row

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.run(lambda conn: _bounded(conn.fetchval(query, *args, timeout=self._timeout)))

    async def primary_lsn(self) -> int:
        lsn: int = await self.primary.fetchval(CURRENT_LSN)
        return lsn

    async def check(self) -> dict[str, Any]:
        """The standby's state for ``/ready`` and the metrics: in recovery, replayed, lag behind the primary.
        Raises when it cannot be reached (and skips it for ``retry`` seconds)."""
        assert self.replica is not None
        try:
            async with self.replica.acquire(timeout=2.0) as conn:
                row = await conn.fetchrow(STANDBY_STATE)
        except Exception as exc:
            if is_connection_error(exc):
                self.mark_down(exc)
            raise
        assert row is not None
        if not row["standby"]:  # promoted (or the URL names a primary): not a copy of ours, so not used
            self.mark_down(RuntimeError("the read replica is not in recovery"))
            return {"standby": False, "lag_bytes": 0.0}
        self._skip_until = 0.0
        mark(REPLICA, True)
        lag = max(0, await self.primary_lsn() - row["replayed"])
        REPLICA_LAG.set(lag)
        return {"standby": True, "lag_bytes": float(lag)}


async def _call(
    conn: asyncpg.Connection, fn: Callable[[asyncpg.Connection], Awaitable[T]], snapshot: bool, timeout_ms: int
) -> T:
    """``fn``, in one read-only REPEATABLE READ snapshot when asked; with ``timeout_ms``, the snapshot's
    statements are cancelled by the server after that long (``SET LOCAL``: the pooled connection keeps no
    setting)."""
    if not snapshot:
        return await fn(conn)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if timeout_ms:
            await conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        return await fn(conn)


async def _bounded(call: Awaitable[T]) -> T:
    """One statement under the driver's timeout (it cancels the statement on the server, the connection stays
    usable) as :class:`~core.db.outage.StatementCancelled`, so that neither server is marked down for it."""
    try:
        return await call
    except TimeoutError as exc:
        raise cancelled() from exc


async def open_router(
    primary: asyncpg.Pool, read_url: str, *, wait: float, retry: float, max_size: int = 10, timeout_ms: int = 0
) -> ReadRouter:
    """The router over ``primary`` and, when ``read_url`` is set, a standby pool. The standby pool opens no
    connection up front (``min_size=0``) and connects with a short timeout: a standby that is down at
    start-up or later costs a fallback to the primary, never the start or a request."""
    if not read_url:
        return ReadRouter(primary, wait=wait, retry=retry, timeout_ms=timeout_ms)
    from core.db.pool import create_pool  # noqa: PLC0415 (pool imports nothing of this module; kept local)

    replica = await create_pool(read_url, min_size=0, max_size=max_size, timeout=2.0, session_reset=False)
    return ReadRouter(primary, replica, wait=wait, retry=retry, timeout_ms=timeout_ms)
