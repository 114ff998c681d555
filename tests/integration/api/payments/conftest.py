"""Fixtures for payments and credits: a fake Stripe server, an app pointed at it, signed-in users."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from eth_account import Account
from pydantic import SecretStr
from sanic import Sanic

from anvil.node import free_port
from api.launch import spawn_api
from api.settings import ApiSettings
from tests.fake_stripe import FakeStripe
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import _env, make_app
from tests.integration.api.test_siwe import nonce, sign, siwe_message

STRIPE_KEY = "sk_test_fake_0123456789"
WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
PASSWORD = "correct horse battery"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    server = FakeStripe(STRIPE_KEY).start()
    yield server
    server.stop()


def stripe_settings(settings: ApiSettings, fake: FakeStripe, **overrides: Any) -> ApiSettings:
    return settings.model_copy(
        update={
            "stripe_api_base": fake.url,
            "stripe_secret_key": SecretStr(STRIPE_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "rate_purchase": "0",
            **overrides,
        }
    )


@pytest.fixture
def pay_app(settings: ApiSettings, fake_stripe: FakeStripe, smtp: FakeSmtpServer) -> Sanic:
    return make_app(stripe_settings(settings, fake_stripe), smtp)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def wallet_user(app: Sanic) -> tuple[dict[str, Any], str]:
    """A new account signed in with Ethereum (its wallet linked); returns (tokens, address)."""
    account = Account.create()
    text = siwe_message(account.address, await nonce(app))
    _, response = await app.asgi_client.post(
        "/api/auth/siwe/verify", json={"message": text, "signature": sign(account, text)}
    )
    assert response.status == 200, response.text
    return response.json["data"], account.address.lower()


async def email_user(app: Sanic, email: str) -> dict[str, Any]:
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    return response.json["data"]


async def admin_user(app: Sanic, pool: asyncpg.Pool, email: str = "admin@example.com") -> dict[str, Any]:
    tokens = await email_user(app, email)
    await pool.execute("UPDATE users SET role = 'admin' WHERE id = $1", tokens["user"]["id"])
    _, response = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200, response.text
    return response.json["data"]


async def checkout(app: Sanic, tokens: dict[str, Any], package_id: str, **body: Any) -> Any:
    _, response = await app.asgi_client.post(
        "/api/payment/checkout", json={"package_id": package_id, **body}, headers=bearer(tokens)
    )
    return response


async def deliver(
    app: Sanic, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> Any:
    body, header = FakeStripe.signed(event, secret, timestamp)
    _, response = await app.asgi_client.post(
        "/api/payment/webhook", content=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )
    return response


def start_workers(
    settings: ApiSettings, extra: dict[str, str], log: Path, timeout: float = 180.0
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m api`` with its own environment (e.g. 2 workers), given longer to start on a loaded machine."""
    return spawn_api(_env(settings, free_port(), extra), log, timeout=timeout)
