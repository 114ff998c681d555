"""Rate limits, CORS allow-list, security headers, body size limit, and malformed input of any kind."""

from __future__ import annotations

import httpx
import pytest
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.protect.ratelimit import rate_limit
from api.settings import ApiSettings
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import make_app


async def test_general_and_auth_tiers_answer_429_with_retry_after(settings: ApiSettings, smtp: FakeSmtpServer) -> None:
    app = make_app(settings.model_copy(update={"rate_general": "5/86400", "rate_auth": "2/86400"}), smtp)
    statuses = [(await app.asgi_client.get("/api/balances/0x" + "ab" * 20))[1].status for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    _, limited = await app.asgi_client.get("/api/balances/0x" + "ab" * 20)
    assert limited.json["error"]["code"] == "rate_limited" and limited.json["error"]["details"]["tier"] == "general"
    assert 1 <= int(limited.headers["retry-after"]) <= 86400
    _, health = await app.asgi_client.get("/health")  # ops endpoints are not counted
    assert health.status == 200

    app = make_app(settings.model_copy(update={"rate_auth": "2/3600"}), smtp)
    body = {"email": "x@example.com", "password": "wrong-password"}
    statuses = [(await app.asgi_client.post("/api/auth/login", json=body))[1].status for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_purchases_are_limited_per_user(settings: ApiSettings, smtp: FakeSmtpServer) -> None:
    app = make_app(settings.model_copy(update={"rate_purchase": "1/86400"}), smtp)

    @app.post("/api/test-purchase")
    @authenticated()
    @rate_limit("purchase", per="user")
    async def purchase(request: Request) -> HTTPResponse:
        return ok({"bought": True})

    headers = []
    for email in ("a@example.com", "b@example.com"):
        _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": "password123"})
        headers.append({"Authorization": f"Bearer {response.json['data']['access_token']}"})
    assert (await app.asgi_client.post("/api/test-purchase", headers=headers[0]))[1].status == 200
    assert (await app.asgi_client.post("/api/test-purchase", headers=headers[0]))[1].status == 429
    assert (await app.asgi_client.post("/api/test-purchase", headers=headers[1]))[1].status == 200  # per user


async def test_cors_allow_list_and_security_headers(settings: ApiSettings) -> None:
    app = make_app(settings.model_copy(update={"cors_origins": ["https://dapp.example"]}))
    _, allowed = await app.asgi_client.get("/health", headers={"Origin": "https://dapp.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://dapp.example"
    _, denied = await app.asgi_client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers
    _, preflight = await app.asgi_client.options(
        "/api/auth/login",
        headers={"Origin": "https://dapp.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,authorization"},
    )  # fmt: skip
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == "https://dapp.example"
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy"):
        assert name in allowed.headers, name


async def test_body_size_limit(api_server: str, settings: ApiSettings) -> None:
    big = "x" * (settings.max_body_bytes + 10)
    body = f'{{"email":"a@example.com","password":"{big}"}}'
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{api_server}/api/auth/login", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/auth/login", "{not json"),
        ("post", "/api/auth/login", "[1, 2]"),
        ("post", "/api/auth/login", '{"email": 5, "password": null}'),
        ("post", "/api/auth/login", '{"email": "a\\u0000@b.co", "password": "x"}'),
        ("post", "/api/auth/signup", '{"email": "a@b.co", "password": "short"}'),
        ("post", "/api/auth/signup", '{"email": "a@b.co", "password": "long enough", "role": "admin"}'),
        ("post", "/api/auth/refresh", ""),
        ("post", "/api/auth/siwe/verify", '{"message": "\\ud800", "signature": "0x"}'),
        ("get", "/api/transfers?account=0x12", None),
        ("get", "/api/transfers?account=0x" + "ab" * 20 + "&limit=0", None),
        ("get", "/api/transfers?account=0x" + "ab" * 20 + "&limit=99999999999999999999999", None),
        ("get", "/api/balances/0x" + "ab" * 20 + "?min_block=-1", None),
        ("get", "/api/balances/0x" + "ab" * 20 + "?min_block=1e400", None),
        ("get", "/api/mints/0x1234", None),
        ("get", "/api/mints?account=0x" + "ab" * 20 + "&cursor=%F0%9F%92%A9", None),
        ("put", "/api/admin/users/abc/role", '{"role": "user"}'),
    ],
)
async def test_malformed_input_gets_a_4xx_envelope(app: Sanic, method: str, path: str, body: str | None) -> None:
    kwargs = {"content": body, "headers": {"content-type": "application/json"}} if body is not None else {}
    _, response = await getattr(app.asgi_client, method)(path, **kwargs)
    assert 400 <= response.status < 500, (response.status, response.text)
    assert response.json["success"] is False and set(response.json["error"]) == {"code", "message", "details"}
    assert "Traceback" not in response.text


async def test_metrics_count_requests_by_route_and_status(app: Sanic) -> None:
    await app.asgi_client.get("/api/balances/0x" + "ab" * 20)
    _, metrics = await app.asgi_client.get("/metrics")
    assert 'api_requests_total{method="GET",route="api/balances/<address:str>",status="200"}' in metrics.text
    assert "api_request_seconds_bucket" in metrics.text
