"""README "Logs": a real ``python -m api`` writing JSON lines; request ids in, out and into the queue;
no password, JWT, refresh token or Stripe signature in any line; /metrics behind its bearer token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sanic import Sanic

from api.settings import ApiSettings
from core.logging import bind_request_id
from core.queue import TxRequest, enqueue, mint_key
from tests.fake_stripe import FakeStripe
from tests.integration.api.conftest import make_app, start_api
from tests.processes import stop

PASSWORD = "Sup3r-secret-passw0rd!"
WEBHOOK_SECRET = "whsec_logs_test_0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def logged_api(settings: ApiSettings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "api.log"
    extra = {
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "API_OUTBOX_DIR": str(tmp_path / "outbox"),
        "API_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "API_METRICS_TOKEN": METRICS_TOKEN,
    }
    process, url = start_api(settings, extra, log)
    yield url, log
    stop(process)  # SIGTERM, grace, SIGKILL, always reaped


def test_json_access_log_request_ids_and_no_secret_in_any_line(logged_api: tuple[str, Path]) -> None:
    url, log = logged_api
    secrets = [PASSWORD, WEBHOOK_SECRET, METRICS_TOKEN]
    with httpx.Client(base_url=url, timeout=10) as client:
        signed_up = client.post(
            "/api/auth/signup", json={"email": "logs@example.com", "password": PASSWORD},
            headers={"X-Request-ID": "client-chosen.id:1"},
        )  # fmt: skip
        assert signed_up.status_code == 201, signed_up.text
        assert signed_up.headers["x-request-id"] == "client-chosen.id:1"
        tokens = signed_up.json()["data"]
        login = client.post("/api/auth/login", json={"email": "logs@example.com", "password": PASSWORD})
        refreshed = client.post("/api/auth/refresh", json={"refresh_token": login.json()["data"]["refresh_token"]})
        assert login.status_code == 200 and refreshed.status_code == 200
        access, refresh = refreshed.json()["data"]["access_token"], refreshed.json()["data"]["refresh_token"]
        secrets += [tokens["access_token"], tokens["refresh_token"], login.json()["data"]["refresh_token"]]
        secrets += [access, refresh]
        assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200
        bad = client.post("/api/auth/login", json={"email": "logs@example.com", "password": PASSWORD + "x"})
        assert bad.status_code == 401
        body, signature = FakeStripe.signed({"id": "evt_x", "type": "ping"}, "whsec_wrong_secret_0123456789")
        hook = client.post("/api/payment/webhook", content=body, headers={"Stripe-Signature": signature})
        assert hook.status_code == 400
        secrets.append(signature.split("v1=")[1])
        query = client.get(f"/api/auth/me?token={access}&password={PASSWORD}", headers={"X-Request-ID": "bad id!"})
        generated = query.headers["x-request-id"]
        assert query.status_code == 401 and generated != "bad id!" and len(generated) == 32
        assert client.get("/metrics").status_code == 401
        scrape = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scrape.status_code == 200 and "api_requests_total" in scrape.text

    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access_log = [r for r in records if r.get("logger") == "api.access"]
    by_id = {r["request_id"]: r for r in access_log}
    assert by_id["client-chosen.id:1"]["path"] == "/api/auth/signup" and by_id["client-chosen.id:1"]["status"] == 201
    assert by_id[generated]["path"] == "/api/auth/me" and by_id[generated]["status"] == 401
    assert all(r["timestamp"].endswith("Z") and r["process"] == "api" for r in access_log)
    assert len(access_log) >= 9
    for secret in secrets:
        assert secret not in text, f"a secret reached the log: {secret[:12]}…"


async def test_the_bound_request_id_is_stored_with_the_tx_request(pool: asyncpg.Pool) -> None:
    ref = "0x" + "ab" * 32
    bind_request_id("req-from-the-api")
    try:
        async with pool.acquire() as conn:
            queued = await enqueue(conn, TxRequest("mint", mint_key(ref), {"to": "0x" + "11" * 20, "amount": 5,
                                                                          "payment_ref": ref}))  # fmt: skip
    finally:
        bind_request_id(None)
    async with pool.acquire() as conn:
        later = await enqueue(conn, TxRequest("mint", mint_key("0x" + "cd" * 32), {"to": "0x" + "11" * 20,
                                                 "amount": 5, "payment_ref": "0x" + "cd" * 32}))  # fmt: skip
    stored = dict(await pool.fetch("SELECT id, request_id FROM tx_requests WHERE id = ANY($1)", [queued.id, later.id]))
    assert stored == {queued.id: "req-from-the-api", later.id: None}


async def test_in_process_responses_carry_a_request_id(app: Sanic) -> None:
    _, kept = await app.asgi_client.get("/health", headers={"X-Request-ID": "abc-1"})
    _, made = await app.asgi_client.get("/health")
    assert kept.headers["x-request-id"] == "abc-1" and len(made.headers["x-request-id"]) == 32


async def test_metrics_outside_development_need_a_token(settings: ApiSettings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    app = make_app(production)
    _, refused = await app.asgi_client.get("/metrics")
    assert refused.status == 403 and refused.json["error"]["code"] == "metrics_disabled"
