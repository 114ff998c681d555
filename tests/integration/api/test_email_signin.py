"""Passwordless sign-in with a mailed code (seed 002's /signin/email-otp) on the OTP machinery:
accounts made on first use, single-use codes with an attempt budget, the auth rate tier, and no
pre-registration takeover (the first code drops a password set on the unverified address)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from sanic import Sanic

from api.settings import ApiSettings
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app
from tests.integration.api.test_auth import PASSWORD, bearer, signup

SEND, SIGN_IN = "/api/auth/signin/email-otp/send", "/api/auth/signin/email-otp"


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_a_new_address_signs_in_with_the_mailed_code_once(
    app: Sanic, smtp: FakeSmtpServer, pool: asyncpg.Pool
) -> None:
    _, sent = await app.asgi_client.post(SEND, json={"email": "New@Example.com"})
    assert sent.status == 200 and sent.json["data"] == {"done": True}
    code = smtp.code_for("new@example.com")
    assert "Sign in" in str(smtp.messages[-1]["Subject"])
    _, tokens = await app.asgi_client.post(SIGN_IN, json={"email": "new@example.com", "otp": code})
    assert tokens.status == 200, tokens.text
    user = tokens.json["data"]["user"]
    assert user["email"] == "new@example.com" and user["email_verified"] is True
    _, me = await app.asgi_client.get("/api/auth/me", headers=bearer(tokens.json["data"]))
    assert me.status == 200 and me.json["data"]["id"] == user["id"]
    _, reused = await app.asgi_client.post(SIGN_IN, json={"email": "new@example.com", "otp": code})
    assert reused.status == 400 and reused.json["error"]["code"] == "invalid_otp"
    # a second sign-in is the same account
    await app.asgi_client.post(SEND, json={"email": "new@example.com"})
    _, again = await app.asgi_client.post(
        SIGN_IN, json={"email": "new@example.com", "otp": smtp.code_for("new@example.com")}
    )
    assert again.json["data"]["user"]["id"] == user["id"]
    assert await pool.fetchval("SELECT count(*) FROM users WHERE email = 'new@example.com'") == 1


async def test_the_attempt_budget_and_other_purposes_codes(
    app: Sanic, smtp: FakeSmtpServer, settings: ApiSettings
) -> None:
    await signup(app, "guess@example.com")
    verify_code = smtp.code_for("guess@example.com")
    _, wrong_purpose = await app.asgi_client.post(SIGN_IN, json={"email": "guess@example.com", "otp": verify_code})
    assert wrong_purpose.status == 400  # a verification code does not sign in
    await app.asgi_client.post(SEND, json={"email": "guess@example.com"})
    code = smtp.code_for("guess@example.com")
    for _ in range(settings.otp_max_attempts):
        _, response = await app.asgi_client.post(SIGN_IN, json={"email": "guess@example.com", "otp": other_code(code)})
        assert response.status == 400
    _, late = await app.asgi_client.post(SIGN_IN, json={"email": "guess@example.com", "otp": code})
    assert late.status == 400  # the budget is spent
    _, unknown = await app.asgi_client.post(SIGN_IN, json={"email": "nobody@example.com", "otp": "123456"})
    assert unknown.status == 400 and unknown.json["error"]["code"] == "invalid_otp"


async def test_the_first_code_revokes_what_the_unverified_registration_set_up(app: Sanic, smtp: FakeSmtpServer) -> None:
    squatter = await signup(app, "owner@example.com")  # someone registered the address, never verified it
    await app.asgi_client.post(SEND, json={"email": "owner@example.com"})
    _, owner = await app.asgi_client.post(
        SIGN_IN, json={"email": "owner@example.com", "otp": smtp.code_for("owner@example.com")}
    )
    assert owner.status == 200 and owner.json["data"]["user"]["email_verified"] is True
    _, login = await app.asgi_client.post("/api/auth/login", json={"email": "owner@example.com", "password": PASSWORD})
    assert login.status == 401  # the squatter's password is gone
    _, refresh = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": squatter["refresh_token"]})
    assert refresh.status == 401  # and so is its session


async def test_sign_in_codes_share_the_auth_rate_tier(
    db_url: str, chain: str, manifest_path: Path, redis: object, smtp: FakeSmtpServer
) -> None:
    app = make_app(api_settings(db_url, chain, manifest_path, rate_auth="2/3600"), smtp)
    statuses = []
    for _ in range(3):
        _, response = await app.asgi_client.post(SEND, json={"email": "busy@example.com"})
        statuses.append(response.status)
    assert statuses == [200, 200, 429]
    _, limited = await app.asgi_client.post(SIGN_IN, json={"email": "busy@example.com", "otp": "123456"})
    assert limited.status == 429 and limited.json["error"]["code"] == "rate_limited"
