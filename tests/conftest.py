"""Shared fixtures: real Postgres (template database cloned per test), real Redis, real anvil.

- ``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``): a server
  where the tests may create and drop databases.
- ``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``).
- anvil is started once per session on a free port, the contracts deployed once, and each
  chain test runs between ``evm_snapshot`` and ``evm_revert``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from anvil.deploy import deploy
from anvil.node import RELAYER_KEY, free_port, rpc, start_anvil
from core.chain.manifest import Manifest
from core.db.migrate import apply_migrations
from tests.integration.api.asgi import stop_all
from tests.processes import stop

ADMIN_DSN = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _dsn_for(database: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
async def template_db() -> AsyncIterator[str]:
    """A database with every migration applied, cloned by each test."""
    name = f"ct_template_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(_dsn_for(name))
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db_url(template_db: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for one test."""
    name = f"ct_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield _dsn_for(name)
        await stop_all()  # apps started in-process by the test, before their database goes
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    from core.db import create_pool  # noqa: PLC0415

    pool = await create_pool(db_url, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    port = free_port()
    process = start_anvil(port)
    yield f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture(scope="session")
def deployment(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    path = tmp_path_factory.mktemp("deploy") / "deployment.json"
    return deploy(anvil_url, path), path


@pytest.fixture
def manifest(deployment: tuple[Manifest, Path]) -> Manifest:
    return deployment[0]


@pytest.fixture
def manifest_path(deployment: tuple[Manifest, Path]) -> Path:
    return deployment[1]


@pytest.fixture
def chain(anvil_url: str, deployment: tuple[Manifest, Path]) -> Iterator[str]:
    """The deployed chain, reverted to its post-deploy state after the test."""
    snapshot = rpc(anvil_url, "evm_snapshot")
    yield anvil_url
    assert rpc(anvil_url, "evm_revert", [snapshot]) is True


@pytest.fixture
def relayer_key() -> str:
    return RELAYER_KEY
