"""Fixtures for generation: the fake KIE provider, a bucket on the S3 wire server, a running API whose
public URL the provider calls back, and generation workers (in this process, or ``python -m`` ones)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from anvil.node import free_port
from api.credits.service import CreditLedger
from api.generation import worker
from api.launch import spawn_api
from api.settings import ApiSettings
from core.settings import ROOT
from tests.fake_kie import FakeKie
from tests.integration.api.conftest import _env, api_settings
from tests.integration.api.payments.conftest import PASSWORD, bearer
from tests.s3 import s3_client, s3_endpoint, s3_settings

__all__ = ["s3_client", "s3_endpoint", "s3_settings"]  # fixtures
KIE_KEY = "kie-test-key-0123456789"
CALLBACK_SECRET = "generation-callback-secret-for-tests-0123"


@dataclass
class GenEnv:
    settings: ApiSettings
    fake: FakeKie
    url: str
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    bucket: str
    s3: Any
    env: dict[str, str]
    log: Path

    async def user(self, email: str, credits: int) -> dict[str, Any]:
        signup = await self.client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        tokens: dict[str, Any] = signup.json()["data"]
        if credits:
            ledger = CreditLedger(self.pool)
            async with self.pool.acquire() as conn, conn.transaction():
                await ledger.grant(conn, tokens["user"]["id"], credits, key=f"test-grant:{uuid.uuid4()}")
        return tokens

    async def generate(self, tokens: dict[str, Any], key: str, **body: Any) -> httpx.Response:
        wanted = {"prompt": "a cat surfing at dawn", "duration": 5, "quality": "720p", **body, "idempotency_key": key}
        return await self.client.post("/api/generate", json=wanted, headers=bearer(tokens))

    async def status(self, tokens: dict[str, Any], task_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/api/generate/status/{task_id}", headers=bearer(tokens))
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    async def ended(self, tokens: dict[str, Any], task_id: str, within: float = 90) -> dict[str, Any]:
        return await until(lambda: self.status(tokens, task_id), lambda s: s["status"] in ("succeeded", "failed"),
                           within)  # fmt: skip

    async def balance(self, tokens: dict[str, Any]) -> dict[str, int]:
        answer = await self.client.get("/api/credits/balance", headers=bearer(tokens))
        data: dict[str, int] = answer.json()["data"]
        return data

    async def keys(self) -> list[str]:
        return sorted(await self.objects())

    async def objects(self) -> dict[str, int]:
        """The bucket's keys and sizes (every page)."""
        found: dict[str, int] = {}
        async for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            found.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return found


async def until(
    read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], within: float = 90, every: float = 0.2
) -> Any:
    """Poll ``read`` until ``done`` holds (generous deadline: the machine may be slow)."""
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {within} s: {value}")
        await asyncio.sleep(every)


def gen_settings(db_url: str, chain: str, manifest_path: Path, s3: dict[str, Any], fake: FakeKie, port: int,
                 **overrides: Any) -> ApiSettings:  # fmt: skip
    values = {
        **s3,
        "kie_api_base": fake.url,
        "kie_api_key": KIE_KEY,
        "public_base_url": f"http://127.0.0.1:{port}",
        "generation_callback_secret": CALLBACK_SECRET,
        "generation_poll_interval": 1.0,
        "generation_sweep_interval": 0.5,
        "generation_timeout": 60,
        "generation_heartbeat": 1.0,
        "generation_stalled_after": 4.0,
        "rate_generation": "0",
        "rate_sensitive": "0",
        **overrides,
    }
    return api_settings(db_url, chain, manifest_path, **values)


def worker_env(settings: ApiSettings, port: int) -> dict[str, str]:
    names = ("s3_endpoint_url", "s3_bucket", "s3_access_key_id", "kie_api_base", "public_base_url",
             "generation_poll_interval", "generation_sweep_interval", "generation_timeout", "generation_heartbeat",
             "generation_stalled_after", "rate_generation", "rate_sensitive")  # fmt: skip
    extra = {f"API_{n.upper()}": str(getattr(settings, n)) for n in names}
    for secret in ("s3_secret_access_key", "kie_api_key", "generation_callback_secret"):
        extra[f"API_{secret.upper()}"] = getattr(settings, secret).get_secret_value()
    return _env(settings, port, {**extra, "LOG_LEVEL": "INFO"})


@pytest.fixture
def kie_options() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def gen(
    db_url: str, chain: str, manifest_path: Path, redis: object, pool: asyncpg.Pool, s3_settings: dict[str, Any],
    s3_client: Any, kie_options: dict[str, Any], settings_overrides: dict[str, Any], tmp_path: Path,
) -> AsyncIterator[GenEnv]:  # fmt: skip
    """A running API (callbacks reach it), the fake provider, and no worker yet (see ``workers``)."""
    await s3_client.create_bucket(Bucket=s3_settings["s3_bucket"])
    fake = await FakeKie(KIE_KEY, **kie_options).start()
    port = free_port()
    settings = gen_settings(db_url, chain, manifest_path, s3_settings, fake, port, **settings_overrides)
    env = worker_env(settings, port)
    env["API_OUTBOX_DIR"] = str(tmp_path / "outbox")
    log = tmp_path / "api.log"
    process, url = spawn_api(env, log, timeout=300)  # a loaded machine starts slowly
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            yield GenEnv(settings, fake, url, client, pool, s3_settings["s3_bucket"], s3_client, env, log)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        await fake.stop()


@contextlib.asynccontextmanager
async def in_process_worker(settings: ApiSettings) -> AsyncIterator[None]:
    task = asyncio.create_task(worker.run(settings, install_signal_handlers=False))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "api.generation.worker"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )


async def audit(gen: GenEnv) -> dict[str, int]:
    """The books after every job has ended: each job succeeded (one video, its object stored, its hold committed
    at its price) or failed (no video, no object, its hold released); each hold reserved once and settled by one
    transaction (no double charge, no double refund); every account's balance equals its entries, every user holds
    nothing and has what was granted less what was charged; all entries sum to zero. Returns counts."""
    jobs = await gen.pool.fetch(
        """SELECT j.id, j.user_id, j.status, j.price, u.status AS usage_status, u.reserved, u.charged,
                  (SELECT count(*) FROM videos v WHERE v.job_id = j.id) AS videos,
                  (SELECT count(*) FROM credit_transactions t WHERE t.usage_id = j.usage_id AND t.kind = 'reserve')
                      AS reserves,
                  (SELECT count(*) FROM credit_transactions t WHERE t.usage_id = j.usage_id
                                                                AND t.kind IN ('commit', 'release')) AS settles
           FROM generation_jobs j JOIN credit_usage u ON u.id = j.usage_id"""
    )
    objects = await gen.objects()
    for job in jobs:
        key = f"generations/{job['user_id']}/{job['id']}.mp4"
        assert (job["reserves"], job["settles"], job["reserved"]) == (1, 1, job["price"]), dict(job)
        if job["status"] == "succeeded":
            assert (job["usage_status"], job["charged"], job["videos"]) == ("committed", job["price"], 1), dict(job)
            size = await gen.pool.fetchval("SELECT size_bytes FROM videos WHERE job_id = $1", job["id"])
            assert objects.get(key) == size, (dict(job), objects.get(key))
        else:
            assert job["status"] == "failed", dict(job)
            assert (job["usage_status"], job["charged"], job["videos"]) == ("released", 0, 0), dict(job)
            assert key not in objects, dict(job)
    keys = {f"generations/{j['user_id']}/{j['id']}.mp4" for j in jobs if j["status"] == "succeeded"}
    assert set(objects) == keys, set(objects) ^ keys
    accounts = await gen.pool.fetch(
        """SELECT a.id, a.user_id, a.kind, a.balance, coalesce(sum(e.amount), 0) AS entries
           FROM credit_accounts a LEFT JOIN credit_entries e ON e.account_id = a.id GROUP BY a.id"""
    )
    for account in accounts:
        if account["user_id"] is not None:
            assert account["balance"] == account["entries"], dict(account)
            if account["kind"] == "held":
                assert account["balance"] == 0, dict(account)
    per_user = await gen.pool.fetch(
        """SELECT a.user_id, a.balance,
                  (SELECT coalesce(sum(t.amount), 0) FROM credit_transactions t
                    WHERE t.user_id = a.user_id AND t.kind = 'grant') AS granted,
                  (SELECT coalesce(sum(u.charged), 0) FROM credit_usage u WHERE u.user_id = a.user_id) AS charged
           FROM credit_accounts a WHERE a.kind = 'available'"""
    )
    for user in per_user:
        assert user["balance"] == user["granted"] - user["charged"], dict(user)
    unbalanced = await gen.pool.fetchval(
        "SELECT count(*) FROM (SELECT transaction_id FROM credit_entries GROUP BY 1 HAVING sum(amount) <> 0) x"
    )
    system = {a["kind"]: int(a["entries"]) for a in accounts if a["user_id"] is None}
    charged = sum(int(u["charged"]) for u in per_user)
    assert unbalanced == 0 and sum(int(a["entries"]) for a in accounts) == 0
    assert system["consumed"] == charged and -system["issued"] == sum(int(u["granted"]) for u in per_user)
    succeeded = sum(j["status"] == "succeeded" for j in jobs)
    return {"jobs": len(jobs), "succeeded": succeeded, "failed": len(jobs) - succeeded, "charged": charged}
