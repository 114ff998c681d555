"""Fixtures for streaming: a fake LiveKit server, an app pointed at it, creators and viewers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from livekit import api
from pydantic import SecretStr
from sanic import Sanic

from api.settings import ApiSettings
from tests.fake_livekit import FakeLiveKit
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import make_app
from tests.integration.api.payments.conftest import PASSWORD, bearer, email_user

KEY = "APIfakekey"
SECRET = "fake-livekit-secret-0123456789abcdef"


@pytest.fixture
async def fake_livekit() -> AsyncIterator[FakeLiveKit]:
    server = await FakeLiveKit(KEY, SECRET).start()
    yield server
    await server.stop()


def livekit_settings(settings: ApiSettings, fake: FakeLiveKit) -> ApiSettings:
    return settings.model_copy(
        update={"livekit_url": fake.url, "livekit_api_key": KEY, "livekit_api_secret": SecretStr(SECRET)}
    )


@pytest.fixture
def stream_app(settings: ApiSettings, fake_livekit: FakeLiveKit, smtp: FakeSmtpServer) -> Sanic:
    return make_app(livekit_settings(settings, fake_livekit), smtp)


async def creator(app: Sanic, pool: asyncpg.Pool, email: str, name: str = "") -> dict[str, Any]:
    """A signed-in user with the creator role and profile."""
    tokens = await email_user(app, email)
    user_id = tokens["user"]["id"]
    await pool.execute("UPDATE users SET role = 'creator' WHERE id = $1", user_id)
    await pool.execute("INSERT INTO creator_profiles (user_id, display_name) VALUES ($1, $2)", user_id,
                       name or email.split("@", maxsplit=1)[0])  # fmt: skip
    _, response = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200, response.text
    data: dict[str, Any] = response.json["data"]
    return data


async def call(app: Sanic, method: str, path: str, tokens: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    headers = bearer(tokens) if tokens else {}
    _, response = await getattr(app.asgi_client, method)(path, headers=headers, **kwargs)
    return response


def grants(token: str) -> api.VideoGrants:
    claims = api.TokenVerifier(KEY, SECRET).verify(token)
    assert claims.video is not None
    return claims.video


async def deliver(app: Sanic, fake: FakeLiveKit, event: api.WebhookEvent, **signing: Any) -> Any:
    body, token = fake.signed(event, **signing)
    _, response = await app.asgi_client.post(
        "/api/webhook/livekit", content=body,
        headers={"Authorization": token, "Content-Type": "application/webhook+json"},
    )  # fmt: skip
    return response
