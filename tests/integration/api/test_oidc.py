"""Sign-in with OpenID Connect against a local provider (tests/fake_oidc.py): the code flow with PKCE,
state and nonce, the ID token's checks, accounts created / linked / refused, the one-time code, unlink."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
import pytest
from sanic import Sanic

from api.settings import ApiSettings
from api.signin.service import QUERIES
from tests.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app
from tests.integration.api.test_auth import bearer, signup

RETURN_URL = "https://app.example/auth/callback"


@pytest.fixture
def provider() -> Iterator[FakeOidcProvider]:
    fake = FakeOidcProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def oidc_settings(
    db_url: str, chain: str, manifest_path: Path, redis: object, provider: FakeOidcProvider
) -> ApiSettings:
    return api_settings(
        db_url,
        chain,
        manifest_path,
        google_client_id=CLIENT_ID,
        google_client_secret=CLIENT_SECRET,
        google_issuer=provider.issuer,
        oidc_providers={"acme": {"issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}},
        oidc_redirect_base="https://api.example",
        oidc_return_url=RETURN_URL,
    )


@pytest.fixture
def app(oidc_settings: ApiSettings, smtp: FakeSmtpServer) -> Sanic:
    return make_app(oidc_settings, smtp)


def consent(authorization_url: str) -> dict[str, str]:
    """What the user's browser does at the provider: it comes back with the callback's query."""
    url = urlsplit(authorization_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    conn.request("GET", f"{url.path}?{url.query}")
    response = conn.getresponse()
    assert response.status == 302
    location = urlsplit(response.getheader("Location") or "")
    conn.close()
    return dict(parse_qsl(location.query))


async def start(app: Sanic, path: str = "/api/auth/google", headers: dict[str, str] | None = None) -> str:
    if path.endswith("/link"):
        _, response = await app.asgi_client.post(path, headers=headers)
        assert response.status == 200, response.text
        return str(response.json["data"]["location"])
    _, response = await app.asgi_client.get(path, follow_redirects=False)
    assert response.status == 302, response.text
    assert response.headers["location"] == response.json["data"]["location"]
    return str(response.headers["location"])


async def callback(app: Sanic, query: dict[str, str], path: str = "/api/auth/google/callback") -> Any:
    _, response = await app.asgi_client.get(path, params=query, follow_redirects=False)
    return response


async def sign_in(app: Sanic, back: str = "/api/auth/google/callback", **kwargs: Any) -> dict[str, Any]:
    """The whole flow; returns our tokens."""
    response = await callback(app, consent(await start(app, **kwargs)), back)
    assert response.status == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL and not location.query
    code = dict(parse_qsl(location.fragment))["code"]
    _, tokens = await app.asgi_client.post("/api/auth/oidc/exchange", json={"code": code})
    assert tokens.status == 200, tokens.text
    # the one-time code works once
    _, again = await app.asgi_client.post("/api/auth/oidc/exchange", json={"code": code})
    assert again.status == 400 and again.json["error"]["details"]["reason"] == "bad_code"
    return dict(tokens.json["data"])


async def test_google_sign_in_creates_the_account_once_with_pkce_state_and_nonce(
    app: Sanic, provider: FakeOidcProvider, pool: asyncpg.Pool
) -> None:
    tokens = await sign_in(app)
    assert tokens["user"]["email"] == "fan@example.com" and tokens["user"]["email_verified"] is True
    request = provider.requests[-1]
    assert request["redirect_uri"] == "https://api.example/api/auth/google/callback"
    assert request["code_challenge_method"] == "S256" and len(request["nonce"]) >= 32
    assert len(provider.token_calls[-1]["code_verifier"]) >= 43  # the verifier travelled only by the back channel
    assert await pool.fetchval("SELECT count(*) FROM oidc_logins") == 0  # the state was used up
    again = await sign_in(app)
    assert again["user"]["id"] == tokens["user"]["id"]
    _, me = await app.asgi_client.get("/api/auth/identities", headers=bearer(again))
    assert [i["provider"] for i in me.json["data"]["identities"]] == ["google"]
    # a provider by settings, same identity store keyed by provider
    # a provider by settings: its own callback; its identity of the same verified email links to the account
    other = await sign_in(app, "/api/auth/oidc/acme/callback", path="/api/auth/oidc/acme")
    assert provider.requests[-1]["redirect_uri"] == "https://api.example/api/auth/oidc/acme/callback"
    assert other["user"]["id"] == tokens["user"]["id"]


async def test_expired_states_and_codes_are_refused_and_purged(app: Sanic, pool: asyncpg.Pool) -> None:
    query = consent(await start(app))
    await pool.execute("UPDATE oidc_logins SET expires_at = now() - interval '1 hour'")
    late = await callback(app, query)
    assert late.status == 401 and late.json["error"]["details"]["reason"] == "bad_state"
    await start(app)
    await pool.execute("UPDATE oidc_logins SET expires_at = now() - interval '2 hours'")
    assert await pool.fetchval(QUERIES.purge_sign_in, 3600.0) == 1  # what the background cleanup runs
    assert await pool.fetchval(QUERIES.purge_sign_in, 3600.0) == 0


async def test_a_replayed_or_unknown_state_is_refused(app: Sanic, provider: FakeOidcProvider) -> None:
    query = consent(await start(app))
    assert (await callback(app, query)).status == 302
    replay = await callback(app, query)
    assert replay.status == 401 and replay.json["error"]["details"]["reason"] == "bad_state"
    forged = await callback(app, {"state": "x" * 43, "code": "whatever"})
    assert forged.status == 401 and forged.json["error"]["details"]["reason"] == "bad_state"
    # a state issued for one provider does not complete another's callback
    other = consent(await start(app, path="/api/auth/oidc/acme"))
    wrong = await callback(app, other)
    assert wrong.status == 401 and wrong.json["error"]["details"]["reason"] == "bad_state"


@pytest.mark.parametrize(
    ("overrides", "forge", "reason"),
    [
        ({"iss": "https://evil.example"}, None, "invalid_claim"),
        ({"aud": "someone-else"}, None, "invalid_claim"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, None, "expired_token"),
        ({"nonce": "replayed-nonce-from-another-login"}, None, "invalid_claim"),
        ({"nonce": None}, None, "missing_claim"),
        ({}, "none", "bad_algorithm"),
        ({}, "hs256", "bad_algorithm"),
        ({}, "unknown_kid", "unknown_key"),
    ],
)
async def test_hostile_id_tokens_are_refused(
    app: Sanic,
    provider: FakeOidcProvider,
    pool: asyncpg.Pool,
    overrides: dict[str, Any],
    forge: str | None,
    reason: str,
) -> None:
    provider.overrides, provider.forge = overrides, forge
    response = await callback(app, consent(await start(app)))
    assert response.status == 401, response.text
    assert response.json["success"] is False and response.json["error"]["details"]["reason"] == reason
    assert await pool.fetchval("SELECT count(*) FROM user_identities") == 0
    assert await pool.fetchval("SELECT count(*) FROM signin_codes") == 0


async def test_an_unverified_email_never_takes_over_an_account(
    app: Sanic, provider: FakeOidcProvider, pool: asyncpg.Pool
) -> None:
    victim = await signup(app, "victim@example.com")
    provider.user = {"sub": "attacker", "email": "victim@example.com", "email_verified": False}
    response = await callback(app, consent(await start(app)))
    assert response.status == 409 and response.json["error"]["details"]["reason"] == "email_not_verified"
    # a verified provider email still does not link to an account that never verified that address
    provider.user = {"sub": "attacker", "email": "victim@example.com", "email_verified": True}
    response = await callback(app, consent(await start(app)))
    assert response.status == 409
    assert await pool.fetchval("SELECT count(*) FROM user_identities") == 0
    # once the account verified its email, a verified identity of the same address links to it
    await pool.execute("UPDATE users SET email_verified = true WHERE id = $1", victim["user"]["id"])
    provider.user = {"sub": "owner", "email": "victim@example.com", "email_verified": True}
    assert (await sign_in(app))["user"]["id"] == victim["user"]["id"]


async def test_explicit_link_and_unlink_but_never_the_last_method(app: Sanic, provider: FakeOidcProvider) -> None:
    account = await signup(app, "linker@example.com")
    provider.user = {"sub": "linked-sub", "email": "other@example.com", "email_verified": True}
    linked = await sign_in(app, path="/api/auth/oidc/google/link", headers=bearer(account))
    assert linked["user"]["id"] == account["user"]["id"]
    # the identity now belongs to that account: linking it to another one is refused
    intruder = await signup(app, "intruder@example.com")
    response = await callback(
        app, consent(await start(app, path="/api/auth/oidc/google/link", headers=bearer(intruder)))
    )
    assert response.status == 409
    _, done = await app.asgi_client.delete("/api/auth/identities/google", headers=bearer(account))
    assert done.status == 200  # the password remains
    _, gone = await app.asgi_client.delete("/api/auth/identities/google", headers=bearer(account))
    assert gone.status == 404
    # an account whose only way in is the identity (no verified email, password or wallet) keeps it
    provider.user = {"sub": "only-sub", "email": None, "email_verified": None}
    only = await sign_in(app)
    _, last = await app.asgi_client.delete("/api/auth/identities/google", headers=bearer(only))
    assert last.status == 409 and last.json["error"]["details"]["reason"] == "last_method"
    _, still = await app.asgi_client.get("/api/auth/identities", headers=bearer(only))
    assert len(still.json["data"]["identities"]) == 1


async def test_unknown_provider_and_malformed_callbacks_are_4xx(app: Sanic) -> None:
    _, unknown = await app.asgi_client.get("/api/auth/oidc/nobody", follow_redirects=False)
    assert unknown.status == 404 and unknown.json["success"] is False
    for query in ({}, {"state": "short"}, {"state": "s" * 43, "error": "bad error!"}):
        response = await callback(app, query)
        assert response.status == 400 and response.json["success"] is False, query
    denied = await callback(app, {**consent(await start(app)), "error": "access_denied"})
    assert denied.status == 401 and denied.json["error"]["details"]["reason"] == "access_denied"
