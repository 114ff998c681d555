"""Redis down (a REAL private redis-server, killed and started again): the API answers 503 in the error
envelope where it needs Redis (never 500), fails the auth limiter closed and the general one open, keeps
serving public reads; a gracefully stopped API releases its live-feed lease at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from redis.asyncio import Redis as RedisClient

from anvil.node import free_port
from anvil.stores import Redis
from api.live.feed import LEASE_MS
from api.settings import ApiSettings
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app, start_api


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path / "redis", free_port())
    server.start()
    yield server
    server.stop()


async def test_redis_down_is_a_503_where_needed_and_reads_keep_working(
    db_url: str, chain: str, manifest_path: Path, smtp: FakeSmtpServer, private_redis: Redis
) -> None:
    settings = api_settings(db_url, chain, manifest_path, redis_url=private_redis.url, rate_general="1000/60")
    app = make_app(settings, smtp)
    _, response = await app.asgi_client.get("/api/auth/siwe/nonce")
    assert response.status == 200, response.text
    _, signup = await app.asgi_client.post("/api/auth/signup", json={"email": "fan@example.com", "password": "pw-" * 5})
    assert signup.status == 201, signup.text
    bearer = {"Authorization": f"Bearer {signup.json['data']['access_token']}"}

    private_redis.stop(kill=True)
    # The revocation denylist is checked on every authenticated request: fail closed, as a 503.
    _, response = await app.asgi_client.get("/api/auth/me", headers=bearer)
    assert response.status == 503, response.text
    _, response = await app.asgi_client.get("/api/auth/siwe/nonce")
    assert response.status == 503, response.text
    assert response.json["success"] is False and response.json["error"]["code"] == "unavailable"
    assert response.headers.get("retry-after") == "1"
    _, response = await app.asgi_client.get(f"/api/balances/{Account.create().address}")
    assert response.status == 200, response.text  # the read is served from Postgres, the cache degrades
    _, response = await app.asgi_client.get("/ready")
    assert response.status == 503
    assert response.json["error"]["details"]["checks"]["redis"]["ok"] is False
    assert response.json["error"]["details"]["checks"]["database"]["ok"] is True

    # A process that holds no grant yet: the auth tier fails closed, the general tier open.
    limited = make_app(api_settings(db_url, chain, manifest_path, redis_url=private_redis.url,
                                    rate_general="1000/60", rate_auth="1000/60"), smtp)  # fmt: skip
    _, response = await limited.asgi_client.post("/api/auth/login", json={"email": "a@b.example", "password": "x" * 12})
    assert response.status == 503, response.text
    assert response.json["error"]["code"] == "unavailable"
    _, response = await limited.asgi_client.get(f"/api/balances/{Account.create().address}")
    assert response.status == 200, response.text

    private_redis.start()
    _, response = await app.asgi_client.get("/api/auth/siwe/nonce")
    assert response.status == 200, response.text  # the stale pooled connection is retried, not a 503
    _, response = await app.asgi_client.get("/api/auth/me", headers=bearer)
    assert response.status == 200, response.text


async def test_a_gracefully_stopped_api_releases_its_feed_lease(
    settings: ApiSettings, tmp_path: Path, redis: RedisClient, chain: str
) -> None:
    lease = "feed:31337:leader"
    log = tmp_path / "api.log"
    process, _ = start_api(settings, {"API_OUTBOX_DIR": str(tmp_path / "outbox"), "LOG_LEVEL": "INFO"}, log)
    try:
        holder = await _wait_key(redis, lease)
        process.terminate()
        assert process.wait(15) == 0, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert await redis.get(lease) is None, "the lease outlived the process that held it"
    assert "released the live feed lease" in log.read_text()
    # Another process takes over at once (no waiting for the TTL): the lease is free.
    assert holder and await redis.set(lease, "another-process", nx=True, px=LEASE_MS)


async def _wait_key(redis: RedisClient, key: str) -> bytes:
    for _ in range(300):
        value = await redis.get(key)
        if value is not None:
            return bytes(value)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{key} never appeared")
