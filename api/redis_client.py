"""The API's Redis client: a command that meets a connection Redis dropped (a restart) reconnects and is
retried twice with a short backoff, so the first requests after an outage do not fail on stale pooled
connections; while Redis stays down the error reaches ``api/errors.py`` (503).

The pool blocks: past ``MAX_CONNECTIONS`` commands in flight a command waits (up to ``WAIT`` s) for a
connection instead of failing at once (redis-py's default pool raises ``MaxConnectionsError`` past 100,
which turned a burst of 200 concurrent requests into 503s)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

MAX_CONNECTIONS = 100
WAIT = 10.0


def redis_client(url: str) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=WAIT,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2,
    )
    return Redis.from_pool(pool)
