"""A read that runs past ``API_READ_TIMEOUT_MS`` is cancelled by the server and answered 503 ``read_timeout``
with ``Retry-After`` (README "Read time limit"), never a worker held for as long as the read would take.

The slow read is made by a lock, not by data: another session holds the table in ACCESS EXCLUSIVE mode (as
an index drop or a table swap does), and ``statement_timeout`` counts the wait for it. Both of the read
paths are covered: a snapshot read (the transfer pages: ``SET LOCAL statement_timeout``) and a one-statement
read (the public feed: the driver's timeout, which cancels the statement on the server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from eth_account import Account
from sanic import Sanic

from tests.integration.api.conftest import api_settings, make_app

LIMIT_MS = 300


@pytest.fixture
def app(db_url: str, chain: str, manifest_path: Path, redis: object) -> Sanic:
    return make_app(api_settings(db_url, chain, manifest_path, read_timeout_ms=LIMIT_MS))


@pytest.fixture
async def locker(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_url)
    yield conn
    await conn.close()


async def _timed_out(app: Sanic, locker: asyncpg.Connection, table: str, url: str) -> None:
    _, before = await app.asgi_client.get(url)
    assert before.status == 200, before.text
    async with locker.transaction():
        await locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        # bounded here too: without the limit the read would wait for this lock, and so would the test
        _, response = await asyncio.wait_for(app.asgi_client.get(url), 30)
        waited = time.monotonic() - started
        assert response.status == 503, response.text
        assert response.json["success"] is False and response.json["error"]["code"] == "read_timeout"
        assert response.headers.get("retry-after") == "1"
        assert LIMIT_MS / 1000 <= waited < 10, waited  # cancelled at the limit, not held until the lock goes
        # the backend gave up its wait: nothing of the API's is queued behind the lock any more
        waiting = await locker.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass", table
        )
        assert waiting == 0
    _, after = await app.asgi_client.get(url)  # the same pooled connections serve again
    assert after.status == 200, after.text


async def test_a_snapshot_read_past_the_limit_is_cancelled_with_503(app: Sanic, locker: asyncpg.Connection) -> None:
    await _timed_out(app, locker, "token_transfers", f"/api/transfers?account={Account.create().address}")


async def test_a_one_statement_read_past_the_limit_is_cancelled_with_503(
    app: Sanic, locker: asyncpg.Connection
) -> None:
    await _timed_out(app, locker, "posts", "/api/content/feed/public")
