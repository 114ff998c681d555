"""The API's Redis client under a burst: more commands in flight than the pool has connections wait for
one (redis-py's default pool refuses them with ``MaxConnectionsError``, a 503 for the request)."""

from __future__ import annotations

import asyncio

from api.redis_client import MAX_CONNECTIONS, redis_client
from tests.conftest import REDIS_URL


async def test_a_burst_past_the_pool_size_waits_for_connections() -> None:
    client = redis_client(REDIS_URL)
    try:
        answers = await asyncio.gather(*(client.ping() for _ in range(3 * MAX_CONNECTIONS)), return_exceptions=True)
        assert answers == [True] * (3 * MAX_CONNECTIONS), {type(a).__name__ for a in answers}
    finally:
        await client.aclose()
