"""The generation tier (5 per hour per user) and the sensitive tier (3 per 15 minutes per user: password
change, account linking), on top of the others; each user counts alone."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from sanic import Sanic

from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app
from tests.integration.api.payments.conftest import PASSWORD, bearer, email_user
from tests.integration.api.payments.test_credits import grant


async def test_generation_and_sensitive_tiers(
    db_url: str, chain: str, manifest_path: Path, redis: object, smtp: FakeSmtpServer, pool: asyncpg.Pool
) -> None:
    settings = api_settings(
        db_url, chain, manifest_path, kie_api_key="kie-test-key", rate_sensitive="3/900",
        generation_callback_secret="generation-callback-secret-for-tests-0123",
    )  # fmt: skip
    assert (settings.rate_generation, settings.rate_sensitive) == ("5/3600", "3/900")
    app: Sanic = make_app(settings, smtp)
    tokens = await email_user(app, "busy@example.com")
    await grant(pool, tokens["user"]["id"], 1000)
    statuses = []
    for i in range(6):
        body = {"prompt": "a storm", "duration": 5, "quality": "480p", "idempotency_key": f"rate-gen-{i:04d}"}
        _, response = await app.asgi_client.post("/api/generate", json=body, headers=bearer(tokens))
        statuses.append(response.status)
    assert statuses == [202] * 5 + [429], statuses
    assert response.json["error"]["details"]["tier"] == "generation"
    assert await pool.fetchval("SELECT count(*) FROM generation_jobs") == 5
    other = await email_user(app, "calm@example.com")
    await grant(pool, other["user"]["id"], 10)
    body = {"prompt": "a storm", "duration": 5, "quality": "480p", "idempotency_key": "rate-gen-other"}
    _, response = await app.asgi_client.post("/api/generate", json=body, headers=bearer(other))
    assert response.status == 202

    password, changes = PASSWORD, []
    for i in range(4):
        new = f"another long password {i}"
        _, response = await app.asgi_client.patch(
            "/api/viewer/password", json={"current_password": password, "new_password": new}, headers=bearer(tokens)
        )
        changes.append(response.status)
        if response.status == 200:
            password = new
            _, login = await app.asgi_client.post("/api/auth/login", json={"email": "busy@example.com",
                                                                          "password": password})  # fmt: skip
            tokens = login.json["data"]
    assert changes == [200, 200, 200, 429], changes
