"""Hot reads cached as finished response bodies: in this process, then in Redis (shared by workers).

Entries belong to a *generation*: the indexed block (number + hash) this process last heard
of from the indexer's NOTIFY. A new block or a reorg starts a new generation, which empties
the in-process tier and moves every read to fresh Redis keys (old ones expire by TTL). Within
a generation a body never changes, so serving it from memory is exact. Redis trouble only
costs the cache, never the read.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("api.cache")
LOCAL_MAX = 20_000  # entries kept in memory per generation


class ResponseCache:
    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl
        self._generation = ""
        self._local: dict[str, bytes] = {}

    def _enter(self, generation: str) -> None:
        if generation != self._generation:
            self._generation = generation
            self._local = {}

    async def get(self, generation: str, key: str) -> bytes | None:
        self._enter(generation)
        body = self._local.get(key)
        if body is not None:
            return body
        try:
            value = await self.redis.get(f"cache:{generation}:{key}")
        except RedisError as exc:
            log.warning("cache get failed: %s", exc)
            return None
        if value is not None:
            body = value.encode() if isinstance(value, str) else value
            self._keep(key, body)
        return body

    async def put(self, generation: str, key: str, body: bytes) -> None:
        self._enter(generation)
        self._keep(key, body)
        try:
            await self.redis.set(f"cache:{generation}:{key}", body, ex=self.ttl)
        except RedisError as exc:
            log.warning("cache put failed: %s", exc)

    def _keep(self, key: str, body: bytes) -> None:
        if len(self._local) >= LOCAL_MAX:
            self._local = {}
        self._local[key] = body
