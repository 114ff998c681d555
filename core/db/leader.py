"""Leadership by a Postgres session advisory lock: one holder per (key, chain) does the work, every other
process waits as a hot standby and takes over when the holder's session ends (crash, network loss)."""

from __future__ import annotations

import asyncpg

from core.errors import ServiceUnavailable


class LeaderLock:
    """``pg_try_advisory_lock(key, chain_id)`` held on a connection of its own (not a pool's)."""

    def __init__(self, dsn: str, chain_id: int, *, key: int, role: str) -> None:
        self.dsn = dsn
        self.chain_id = chain_id
        self.key = key
        self.role = role  # named in errors: "the indexer", "the schedules"
        self.conn: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.dsn)
        got: bool = await self.conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self.key, self.chain_id)
        return got

    async def check(self) -> None:
        """Raise if the lock's session is gone (the lock went with it)."""
        if self.conn is None or self.conn.is_closed():
            raise ServiceUnavailable(f"lost the {self.role} leader lock connection")
        await self.conn.execute("SELECT 1")

    async def release(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.close()
        self.conn = None
