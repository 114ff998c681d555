"""The API's ops endpoints and error envelope against real Postgres, Redis and anvil."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sanic import Sanic

from api.app import create_app
from api.settings import ApiSettings
from tests.conftest import REDIS_URL
from tests.integration.api.asgi import started_client

_names = itertools.count()


def make_app(db_url: str, chain: str, manifest_path: Path, **overrides: str) -> Sanic:
    settings = ApiSettings(
        database_url=db_url,
        redis_url=overrides.get("redis_url", REDIS_URL),
        rpc_urls=[chain],
        manifest_path=manifest_path,
    )
    return started_client(create_app(settings, name=f"api_test_{next(_names)}"))


@pytest.fixture
def app(db_url: str, chain: str, manifest_path: Path) -> Sanic:
    return make_app(db_url, chain, manifest_path)


async def test_health_ready_and_metrics(app: Sanic) -> None:
    _, health = await app.asgi_client.get("/health")
    assert health.status == 200 and health.json == {"success": True, "data": {"status": "ok"}}
    _, ready = await app.asgi_client.get("/ready")
    assert ready.status == 200, ready.text
    assert set(ready.json["data"]["checks"]) == {"database", "redis", "chain"}
    _, metrics = await app.asgi_client.get("/metrics")
    assert metrics.status == 200
    assert "api_requests_total" in metrics.text
    assert health.headers["x-content-type-options"] == "nosniff"


async def test_ready_reports_an_unreachable_dependency(db_url: str, chain: str, manifest_path: Path) -> None:
    app = make_app(db_url, chain, manifest_path, redis_url="redis://127.0.0.1:1/0")
    _, ready = await app.asgi_client.get("/ready")
    assert ready.status == 503
    body = ready.json
    assert body["success"] is False and body["error"]["code"] == "not_ready"
    checks = body["error"]["details"]["checks"]
    assert checks["redis"]["ok"] is False and checks["database"]["ok"] is True


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/balances/0x12", 400, "invalid_input"),
        ("get", "/api/balances/0x" + "g" * 40, 400, "invalid_input"),
        ("get", "/api/balances/%00%ff", 400, "invalid_input"),
        ("get", "/nowhere", 404, "not_found"),
        ("post", "/health", 405, "method_not_allowed"),
    ],
)
async def test_bad_requests_get_the_error_envelope(app: Sanic, method: str, path: str, status: int, code: str) -> None:
    _, response = await getattr(app.asgi_client, method)(path)
    assert response.status == status, response.text
    assert response.json["success"] is False
    assert response.json["error"]["code"] == code
    assert "Traceback" not in response.text


async def test_balances_of_an_unknown_account_are_zero_before_indexing(app: Sanic) -> None:
    address = "0x" + "ab" * 20
    _, response = await app.asgi_client.get(f"/api/balances/{address.upper().replace('0X', '0x')}")
    assert response.status == 200
    data = response.json["data"]
    assert data["address"] == address
    assert data["indexed_block"] is None
    assert [(b["token"], b["balance"]) for b in data["balances"]] == [("Coin", "0"), ("Engagement", "0")]
