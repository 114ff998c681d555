"""The API's Redis client: a command that meets a connection Redis dropped (a restart) reconnects and is
retried twice with a short backoff, so the first requests after an outage do not fail on stale pooled
connections; while Redis stays down the error reaches ``api/errors.py`` (503)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def redis_client(url: str) -> Redis:
    return Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2,
    )
