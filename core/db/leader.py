"""Leadership by a Postgres session advisory lock: one holder per (key, chain) does the work, every other
process waits as a hot standby and takes over when the holder's session ends (crash, network loss).

A database restart ends the session and the lock with it: :meth:`LeaderLock.check` then raises
:class:`LeaderLost` (retryable), and the holder goes back to standby until it holds the lock again.
"""

from __future__ import annotations

import asyncpg

from core.db.outage import DatabaseUnavailable, database_errors


class LeaderLost(DatabaseUnavailable):
    """The leader lock's session is gone (the lock went with it): stop writing, take the lock again."""


class LeaderLock:
    """``pg_try_advisory_lock(key, chain_id)`` held on a connection of its own (not a pool's)."""

    def __init__(self, dsn: str, chain_id: int, *, key: int, role: str) -> None:
        self.dsn = dsn
        self.chain_id = chain_id
        self.key = key
        self.role = role  # named in errors: "the indexer", "the schedules"
        self.conn: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        """True when this session holds the lock; raises :class:`DatabaseUnavailable` if the database is away."""
        try:
            async with database_errors():
                if self.conn is None or self.conn.is_closed():
                    self.conn = await asyncpg.connect(self.dsn)
                got: bool = await self.conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self.key, self.chain_id)
                return got
        except DatabaseUnavailable:
            self._abandon()
            raise

    async def check(self) -> None:
        """Raise :class:`LeaderLost` if the lock's session is gone (the lock went with it)."""
        if self.conn is None or self.conn.is_closed():
            raise LeaderLost(f"lost the {self.role} leader lock connection")
        try:
            async with database_errors():
                await self.conn.execute("SELECT 1")
        except DatabaseUnavailable as exc:
            self._abandon()
            raise LeaderLost(f"lost the {self.role} leader lock connection: {exc}") from exc

    def _abandon(self) -> None:
        if self.conn is not None:
            self.conn.terminate()
        self.conn = None

    async def release(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            try:
                async with database_errors():
                    await self.conn.close(timeout=5)
            except DatabaseUnavailable:
                self.conn.terminate()
        self.conn = None
