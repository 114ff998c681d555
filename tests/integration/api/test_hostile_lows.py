"""API lows found by hostile-input testing (issue 12), each with the defect's siblings: another
account's refresh token at logout, SIWE Not Before inside the skew window, 405 without ``Allow``,
NUL in the path or query, strict integers in bodies and queries, and no driver text in an envelope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from eth_account import Account
from sanic import Sanic

from core.db import translate_errors
from core.errors import Conflict, InvalidInput
from tests.integration.api.test_siwe import iso, nonce, sign, siwe_message, verify

PASSWORD = "long enough password"


async def _signup(app: Sanic, email: str) -> dict[str, Any]:
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    data: dict[str, Any] = response.json["data"]
    return data


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_logout_with_another_accounts_refresh_token_revokes_nothing_of_theirs(
    app: Sanic, pool: asyncpg.Pool
) -> None:
    victim, attacker = await _signup(app, "victim@example.com"), await _signup(app, "attacker@example.com")
    _, response = await app.asgi_client.post(
        "/api/auth/logout", json={"refresh_token": victim["refresh_token"]}, headers=_bearer(attacker)
    )
    assert response.status == 403, response.text
    assert response.json["error"]["details"]["reason"] == "not_yours"
    revoked = await pool.fetchval(
        "SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NOT NULL", victim["user"]["id"]
    )
    assert revoked == 0
    _, refreshed = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": victim["refresh_token"]})
    assert refreshed.status == 200, refreshed.text  # the victim's session lives on

    # The caller's own token is still revoked by logout.
    _, own = await app.asgi_client.post(
        "/api/auth/logout", json={"refresh_token": attacker["refresh_token"]}, headers=_bearer(attacker)
    )
    assert own.status == 200, own.text
    _, gone = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": attacker["refresh_token"]})
    assert gone.status == 401


async def test_siwe_not_before_inside_the_skew_window_signs_in_and_beyond_it_says_not_yet_valid(app: Sanic) -> None:
    wallet, other = Account.create(), Account.create()
    for offset, status, reason in ((30, 200, None), (3600, 401, "not_yet_valid")):
        moment = datetime.now(UTC) + timedelta(seconds=offset)
        text = siwe_message(wallet.address, await nonce(app)) + f"\nNot Before: {iso(moment)}"
        response = await verify(app, text, sign(wallet, text))
        assert response.status == status, (offset, response.text)
        if reason:
            assert response.json["error"]["details"]["reason"] == reason
    # A wrong signature inside the window is still a bad signature.
    moment = datetime.now(UTC) + timedelta(seconds=30)
    text = siwe_message(wallet.address, await nonce(app)) + f"\nNot Before: {iso(moment)}"
    forged = await verify(app, text, sign(other, text))
    assert forged.status == 401 and forged.json["error"]["details"]["reason"] == "bad_signature"


async def test_405_names_the_allowed_methods_on_static_and_dynamic_paths(app: Sanic) -> None:
    cases = {
        ("DELETE", "/api/auth/login"): {"POST"},
        ("PATCH", "/api/creators/1/follow"): {"POST", "DELETE"},
        ("POST", "/api/meetings/1"): {"GET"},
        ("DELETE", "/api/payment/1"): {"GET"},
        ("PUT", "/health"): {"GET"},
    }
    for (method, path), expected in cases.items():
        _, response = await app.asgi_client.request(method, path)
        assert response.status == 405, (method, path, response.status, response.text)
        assert response.json["error"]["code"] == "method_not_allowed"
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert expected <= allowed and method not in allowed, (path, allowed)
    _, missing = await app.asgi_client.get("/api/no-such-thing")
    assert missing.status == 404 and "allow" not in missing.headers


async def test_nul_in_the_path_or_query_is_a_clean_400(app: Sanic) -> None:
    for url in ("/api/creators/ab%00cd", "/api/events/Probe/Ev%00", "/api/credits/history?cursor=a%00b"):
        _, response = await app.asgi_client.get(url)
        assert response.status == 400, (url, response.text)
        assert response.json["error"]["code"] == "invalid_input" and "NUL" in response.json["error"]["message"]
    _, body = await app.asgi_client.post(
        "/api/auth/signup", content=b'{"email": "a\\u0000@example.com", "password": "long enough password"}'
    )
    assert body.status == 400 and body.json["error"]["message"] == "the body contains a NUL character"
    _, key = await app.asgi_client.post("/api/auth/signup", content=b'{"\\u0000": 1}')
    assert key.status == 400 and "NUL" in key.json["error"]["message"]


async def test_bodies_take_json_types_strictly(app: Sanic) -> None:
    for body in (
        {"email": 5, "password": PASSWORD},
        {"email": "s@example.com", "password": True},
        {"email": ["s@example.com"], "password": PASSWORD},
    ):
        _, response = await app.asgi_client.post("/api/auth/signup", json=body)
        assert response.status == 400, (body, response.text)
    for raw in (b'{"email": "n@example.com", "password": NaN}', b"[1, 2]", b'"text"', b"\xff\xfe"):
        _, response = await app.asgi_client.post("/api/auth/signup", content=raw)
        assert response.status == 400, (raw, response.text)
        assert response.json["error"]["code"] == "invalid_input"


async def test_database_refusals_carry_no_driver_text(pool: asyncpg.Pool) -> None:
    """Where the database is called, a refused value becomes InvalidInput/Conflict with our words only."""
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE once (v text PRIMARY KEY)")
        await conn.execute("INSERT INTO once VALUES ('secret-value')")
        with pytest.raises(Conflict) as conflict:
            async with translate_errors():
                await conn.execute("INSERT INTO once VALUES ('secret-value')")
        with pytest.raises(InvalidInput) as invalid:
            async with translate_errors():
                await conn.execute("SELECT $1::text", "a\x00b")
        with pytest.raises(InvalidInput) as out_of_range:
            async with translate_errors():
                await conn.execute("SELECT $1::text::smallint", "99999")
    for exc in (conflict.value, invalid.value, out_of_range.value):
        text = f"{exc.message} {exc.details}"
        assert "secret-value" not in text and "0x00" not in text and "smallint" not in text, text
        assert "Key (" not in text and "UTF8" not in text, text
