"""Read replicas (README "Read replicas") against a real primary and a hot standby streaming from it
(``tests/replica.py``): GET reads are answered by the standby; a writer that sends back its ``X-Min-Lsn``
reads its own writes; ``indexed_block`` is the standby's own and ``min_block`` never answers from a standby
that has not replayed it; a stopped standby leaves the reads to the primary. Lag is made by pausing the
standby's replay, not by sleeping."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from eth_account import Account
from prometheus_client import REGISTRY
from sanic import Sanic

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.db.migrate import apply_migrations
from tests.integration.api.asgi import stop_all
from tests.integration.api.chain import index
from tests.integration.api.conftest import api_settings, make_app
from tests.replica import Replicated, replicated_clusters

PASSWORD = "replica-password-1"
_emails = itertools.count()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Replicated]:
    with replicated_clusters() as clusters:
        yield clusters


@pytest.fixture(scope="module")
async def template(cluster: Replicated) -> str:
    name = "ct_replica_template"
    conn = await asyncpg.connect(cluster.url(cluster.primary))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(cluster.url(cluster.primary, name))
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    return name


@pytest.fixture
async def database(cluster: Replicated, template: str) -> AsyncIterator[str]:
    """A fresh migrated database on the primary, already replayed by the standby."""
    name = f"ct_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(cluster.url(cluster.primary))
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        await cluster.caught_up()
        yield name
        await stop_all()
        await cluster.resume()  # a failed test may have left replay paused
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def primary(cluster: Replicated, database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(cluster.url(cluster.primary, database), min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
def app(cluster: Replicated, database: str, chain: str, manifest_path: Path, redis: object) -> Sanic:
    settings = api_settings(
        cluster.url(cluster.primary, database),
        chain,
        manifest_path,
        database_read_url=cluster.url(cluster.standby, database),
        read_replica_wait=0.3,
        read_replica_retry=60,  # no retry on its own during a test: /ready's check brings the standby back
        min_block_timeout=0.5,
    )
    return make_app(settings)


async def get(app: Sanic, url: str, token: str | None = None, auth: dict[str, str] | None = None) -> Any:
    headers = {**(auth or {}), **({"X-Min-Lsn": token} if token else {})}
    _, response = await app.asgi_client.get(url, headers=headers)
    assert response.status == 200, response.text
    return response


async def signup(app: Sanic) -> dict[str, str]:
    email = f"replica{next(_emails)}@example.com"
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    assert int(response.headers["x-min-lsn"]) > 0
    return {"Authorization": f"Bearer {response.json['data']['access_token']}"}


async def publish(app: Sanic, auth: dict[str, str], body: str) -> tuple[int, str]:
    _, response = await app.asgi_client.post("/api/content/posts", headers=auth, json={"body": body})
    assert response.status == 201, response.text
    assert response.headers["x-read-source"] == "primary"  # a write reads its own row back on the primary
    return int(response.json["data"]["id"]), response.headers["x-min-lsn"]


def ids(response: Any) -> list[int]:
    return [int(p["id"]) for p in response.json["data"]["items"]]


async def test_reads_come_from_the_replica_and_a_writer_reads_its_writes(app: Sanic, cluster: Replicated) -> None:
    auth = await signup(app)
    first, first_token = await publish(app, auth, "before the pause")
    await cluster.caught_up()

    feed = await get(app, "/api/content/feed/public")
    assert feed.headers["x-read-source"] == "replica" and ids(feed) == [first]
    ready = await get(app, "/ready")
    replica = ready.json["data"]["checks"]["replica"]
    assert replica["ok"] is True and replica["serving"] == "replica"  # the standby says pg_is_in_recovery()

    await cluster.pause()
    second, token = await publish(app, auth, "while replay is paused")
    _, patched = await app.asgi_client.patch("/api/viewer/profile", headers=auth, json={"bio": "changed"})
    assert patched.status == 200 and patched.json["data"]["bio"] == "changed"
    profile_token = patched.headers["x-min-lsn"]

    stale = await get(app, "/api/content/feed/public")  # no token: the standby's (older) state, said so
    assert stale.headers["x-read-source"] == "replica" and ids(stale) == [first]
    mine = await get(app, "/api/content/feed/public", token)  # the writer's token: its own post is there
    assert mine.headers["x-read-source"] == "primary" and ids(mine) == [second, first]
    old = await get(app, "/api/content/feed/public", first_token)  # a token the standby has replayed
    assert old.headers["x-read-source"] == "replica" and ids(old) == [first]
    me = await get(app, "/api/viewer/me", profile_token, auth)
    assert me.headers["x-read-source"] == "primary" and me.json["data"]["bio"] == "changed"
    me_stale = await get(app, "/api/viewer/me", None, auth)
    assert me_stale.headers["x-read-source"] == "replica" and me_stale.json["data"]["bio"] != "changed"

    await cluster.resume()
    await cluster.caught_up()
    caught = await get(app, "/api/content/feed/public", token)
    assert caught.headers["x-read-source"] == "replica" and ids(caught) == [second, first]


async def test_indexed_block_is_the_replicas_own_and_min_block_never_answers_stale(
    app: Sanic, cluster: Replicated, primary: asyncpg.Pool, chain: str, manifest: Manifest
) -> None:
    account = Account.create().address
    await index(manifest, primary, chain)
    first = int(str(rpc(chain, "eth_blockNumber")), 16)
    await cluster.caught_up()
    read = await get(app, f"/api/transfers?account={account}")
    assert read.headers["x-read-source"] == "replica" and read.json["data"]["indexed_block"]["number"] == first

    await cluster.pause()
    rpc(chain, "anvil_mine", ["0x3"])
    await index(manifest, primary, chain)
    head = first + 3
    assert await primary.fetchval("SELECT block_number FROM indexer_checkpoints") == head

    lagging = await get(app, f"/api/transfers?account={account}")  # the standby's own checkpoint, not the primary's
    assert lagging.headers["x-read-source"] == "replica" and lagging.json["data"]["indexed_block"]["number"] == first
    waited = await get(app, f"/api/transfers?account={account}&min_block={head}")
    assert waited.headers["x-read-source"] == "primary" and waited.json["data"]["indexed_block"]["number"] == head
    balances = await get(app, f"/api/balances/{account}?min_block={head}")  # a cached read: built for `head`
    assert balances.headers["x-read-source"] == "primary" and balances.json["data"]["indexed_block"]["number"] == head
    cached = await get(app, f"/api/balances/{account}")
    assert cached.json["data"]["indexed_block"]["number"] == head  # the cache holds no stale body under `head`
    _, beyond = await app.asgi_client.get(f"/api/transfers?account={account}&min_block={head + 50}")
    assert beyond.status == 409 and beyond.json["error"]["code"] == "not_indexed_yet"

    await cluster.resume()
    await cluster.caught_up()
    after = await get(app, f"/api/transfers?account={account}&min_block={head}")
    assert after.headers["x-read-source"] == "replica" and after.json["data"]["indexed_block"]["number"] == head


async def test_a_stopped_replica_leaves_the_reads_to_the_primary(app: Sanic, cluster: Replicated) -> None:
    auth = await signup(app)
    post, _ = await publish(app, auth, "hello")
    await cluster.caught_up()
    assert (await get(app, "/api/content/feed/public")).headers["x-read-source"] == "replica"

    cluster.standby.stop()
    try:
        down = await get(app, "/api/content/feed/public")
        assert down.headers["x-read-source"] == "primary" and ids(down) == [post]
        again = await get(app, f"/api/content/posts/{post}")  # skipped now, not retried per read
        assert again.headers["x-read-source"] == "primary"
        ready = await get(app, "/ready")  # still ready: the reads have the primary
        replica = ready.json["data"]["checks"]["replica"]
        assert replica["ok"] is False and replica["serving"] == "primary"
        metrics = (await get(app, "/metrics")).text
        assert 'dependency_up{dependency="replica"} 0.0' in metrics
        assert 'api_reads_total{reason="down",source="primary"}' in metrics
    finally:
        cluster.standby.start()
    await cluster.caught_up()
    assert (await get(app, "/ready")).json["data"]["checks"]["replica"]["ok"] is True
    back = await get(app, "/api/content/feed/public")
    assert back.headers["x-read-source"] == "replica" and ids(back) == [post]


async def test_a_read_out_of_time_on_the_replica_is_a_503_and_the_replica_stays_in_use(
    cluster: Replicated, database: str, primary: asyncpg.Pool, chain: str, manifest_path: Path, redis: object
) -> None:
    """API_READ_TIMEOUT_MS on the standby: a read waiting there for a lock the primary holds (replayed as the
    standby's own) is cancelled at the limit and answered 503 read_timeout, without a second try on the
    primary (which holds the same lock) and without the standby being skipped afterwards."""
    app = make_app(
        api_settings(
            cluster.url(cluster.primary, database),
            chain,
            manifest_path,
            database_read_url=cluster.url(cluster.standby, database),
            read_replica_retry=60,
            read_timeout_ms=300,
        )
    )
    # one statement (the driver's timeout) and a snapshot (SET LOCAL statement_timeout)
    reads = {
        "posts": "/api/content/feed/public",
        "token_transfers": f"/api/transfers?account={Account.create().address}",
    }
    for url in reads.values():
        assert (await get(app, url)).headers["x-read-source"] == "replica"
    before = {reason: _primary_reads(reason) for reason in ("error", "down")}
    async with primary.acquire() as locker, locker.transaction():
        await locker.execute("LOCK TABLE posts, token_transfers IN ACCESS EXCLUSIVE MODE")
        await primary.execute("SELECT pg_switch_wal()")  # the locks' WAL records sent and replayed now
        await cluster.caught_up()
        for url in reads.values():
            _, response = await asyncio.wait_for(app.asgi_client.get(url), 30)
            assert response.status == 503 and response.json["error"]["code"] == "read_timeout", response.text
            assert response.headers.get("retry-after") == "1"
    await cluster.caught_up()
    for url in reads.values():
        assert (await get(app, url)).headers["x-read-source"] == "replica"  # not marked down for running out of time
    # nor retried on the primary (the counters are the process's: other tests' reads are in them too)
    assert {reason: _primary_reads(reason) for reason in ("error", "down")} == before


def _primary_reads(reason: str) -> float:
    return REGISTRY.get_sample_value("api_reads_total", {"source": "primary", "reason": reason}) or 0.0
