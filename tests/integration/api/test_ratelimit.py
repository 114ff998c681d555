"""The general limiter spends grants taken from Redis locally: several processes together never
admit more than the limit, near the limit they admit exactly it, and most requests cost no round trip."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from typing import Any

import pytest
from redis.asyncio import Redis

from api.domain_errors import RateLimited
from api.protect.ratelimit import RateLimiter
from api.settings import ApiSettings
from core.settings import ROOT


class CountingLimiter(RateLimiter):
    """A limiter that counts its Redis round trips."""

    def __init__(self, redis: Redis, settings: ApiSettings) -> None:
        super().__init__(redis, settings)
        self.trips = 0
        take = self._take

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.trips += 1
            return await take(*args, **kwargs)

        self._take = counted  # type: ignore[assignment]


async def _admitted(limiter: RateLimiter, who: str) -> bool:
    try:
        await limiter.hit("general", who)
    except RateLimited as exc:
        assert 1 <= exc.retry_after <= 3600
        return False
    return True


@pytest.mark.parametrize("processes", [1, 2, 4])
async def test_several_limiters_admit_exactly_the_limit_with_few_round_trips(
    redis: Redis, settings: ApiSettings, processes: int
) -> None:
    limited = settings.model_copy(update={"rate_general": "1000/3600"})
    limiters = [CountingLimiter(redis, limited) for _ in range(processes)]
    rng = random.Random(processes)
    # Concurrent bursts spread at random over the "processes", until every one has been refused.
    results: list[bool] = []
    while len(results) < 1600:
        burst = [_admitted(rng.choice(limiters), "ip:10.0.0.1") for _ in range(40)]
        results += await asyncio.gather(*burst)
    for limiter in limiters:  # each spends what it was granted, then refuses
        while await _admitted(limiter, "ip:10.0.0.1"):
            results.append(True)
    assert sum(results) == 1000
    trips = sum(limiter.trips for limiter in limiters)
    assert trips < 1000 / 3, trips  # the baseline is one round trip per request
    assert await _admitted(limiters[0], "ip:10.0.0.2")  # another caller has its own budget


async def test_a_small_limit_is_exact_and_refusals_cost_no_round_trip(redis: Redis, settings: ApiSettings) -> None:
    limited = settings.model_copy(update={"rate_general": "5/3600"})
    a, b = CountingLimiter(redis, limited), CountingLimiter(redis, limited)
    assert [await _admitted(x, "ip:1") for x in (a, b, a, b, a, b, a)] == [True] * 5 + [False] * 2
    trips = a.trips + b.trips
    assert [await _admitted(x, "ip:1") for x in (a, b, a, b)] == [False] * 4
    assert a.trips + b.trips == trips  # the spent window is remembered in each process


_WORKER = """
import asyncio, sys
from redis.asyncio import Redis
from api.protect.ratelimit import RateLimiter
from api.domain_errors import RateLimited
from api.settings import ApiSettings

async def main() -> None:
    redis = Redis.from_url(sys.argv[1])
    limiter = RateLimiter(redis, ApiSettings(environment="test", redis_url=sys.argv[1], rate_general="300/3600"))
    await redis.incr("ready")
    await redis.blpop(["go"], timeout=30)  # both processes start together
    admitted = 0
    for _ in range(400):
        try:
            await limiter.hit("general", "ip:10.9.9.9")
            admitted += 1
        except RateLimited:
            pass
        await asyncio.sleep(0.002)
    print(admitted)
    await redis.aclose()

asyncio.run(main())
"""


async def test_two_processes_share_one_budget(redis: Redis, settings: ApiSettings) -> None:
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WORKER, settings.redis_url, cwd=ROOT, stdout=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for _ in range(300):
        if await redis.get("ready") == b"2":
            break
        await asyncio.sleep(0.1)
    await redis.rpush("go", "1", "1")
    outputs = [await asyncio.wait_for(w.communicate(), 60) for w in workers]
    admitted = [int(out.decode()) for out, _ in outputs]
    assert sum(admitted) == 300 and all(a > 0 for a in admitted), admitted  # each spent its grants, then refused
