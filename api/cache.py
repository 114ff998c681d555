"""Hot reads cached in Redis as finished response bodies.

Keys carry the indexed block (number + hash) this process last heard of from the indexer's
NOTIFY, so a new block or a reorg moves every read to fresh keys; old ones expire by TTL.
Redis trouble only costs the cache, never the read.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("api.cache")


class ResponseCache:
    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.redis.get(key)
            return value.encode() if isinstance(value, str) else value
        except RedisError as exc:
            log.warning("cache get failed: %s", exc)
            return None

    async def put(self, key: str, body: bytes) -> None:
        try:
            await self.redis.set(key, body, ex=self.ttl)
        except RedisError as exc:
            log.warning("cache put failed: %s", exc)
