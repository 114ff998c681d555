"""Hostile bodies on the money paths (issue 12): deep nesting, NUL, non-integer amounts, a string
``amount_total``. Each is a 400 in the envelope (or a mismatch), and nothing is spent or fulfilled."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
import stripe
from sanic import Sanic

from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import WEBHOOK_SECRET, bearer, checkout, deliver, email_user, wallet_user
from tests.integration.api.payments.test_credits import grant


def _signed_raw(body: bytes) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


async def test_a_validly_signed_webhook_nested_5000_deep_is_a_400(pay_app: Sanic, pool: asyncpg.Pool) -> None:
    inner = "[" * 5000 + "]" * 5000
    body = (
        '{"id": "evt_deep", "type": "checkout.session.completed", "data": {"object": {"x": ' + inner + "}}}"
    ).encode()
    _, response = await pay_app.asgi_client.post("/api/payment/webhook", content=body, headers=_signed_raw(body))
    assert response.status == 400, response.text
    assert response.json["success"] is False and response.json["error"]["code"] == "invalid_input"
    assert await pool.fetchval("SELECT count(*) FROM stripe_events") == 0


async def test_every_json_body_nested_deep_is_a_400(pay_app: Sanic) -> None:
    tokens = await email_user(pay_app, "deep@example.com")
    deep = ("[" * 5000 + "]" * 5000).encode()
    for path in ("/api/auth/login", "/api/credits/spend", "/api/payment/checkout", "/api/contracts/clap"):
        _, response = await pay_app.asgi_client.post(path, content=deep, headers=bearer(tokens))
        assert response.status == 400, (path, response.text)
        assert response.json["error"]["code"] == "invalid_input"


async def test_nul_in_a_webhook_event_id_is_a_clean_400(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens, _ = await wallet_user(pay_app)
    started = (await checkout(pay_app, tokens, "credits_100")).json["data"]
    event = fake_stripe.complete(started["session_id"])
    event["id"] = "evt_\x00nul"
    response = await deliver(pay_app, event)
    assert response.status == 400, response.text
    error = response.json["error"]
    assert error["code"] == "invalid_input" and error["message"] == "the body contains a NUL character"
    assert "0x00" not in response.text and "UTF8" not in response.text  # nothing of Postgres's own text
    assert await pool.fetchval("SELECT count(*) FROM stripe_events") == 0
    assert await pool.fetchval("SELECT status FROM payments") == "pending"


@pytest.mark.parametrize("total", ["1000", 1000.0, True, None, "x"])
async def test_a_completed_session_whose_amount_total_is_not_the_integer_is_a_mismatch(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool, total: Any
) -> None:
    tokens, _ = await wallet_user(pay_app)
    started = (await checkout(pay_app, tokens, "credits_100")).json["data"]
    event = fake_stripe.complete(started["session_id"])
    event["data"]["object"]["amount_total"] = (
        str(started["charged_cents"])
        if total == "1000"
        else float(started["charged_cents"])
        if total == 1000.0
        else total
    )
    assert (await deliver(pay_app, event)).json["data"]["outcome"] == "amount_mismatch"
    assert await pool.fetchval("SELECT status FROM payments") == "pending"
    assert await pool.fetchval("SELECT count(*) FROM credit_transactions") == 0


@pytest.mark.parametrize("currency", ["eur", "USD", None, 840])
async def test_a_completed_session_in_another_currency_is_a_mismatch(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool, currency: Any
) -> None:
    tokens, _ = await wallet_user(pay_app)
    started = (await checkout(pay_app, tokens, "credits_100")).json["data"]
    assert started["currency"] == "usd"
    event = fake_stripe.complete(started["session_id"])
    event["data"]["object"]["currency"] = currency
    assert (await deliver(pay_app, event)).json["data"]["outcome"] == "amount_mismatch"
    assert await pool.fetchval("SELECT status FROM payments") == "pending"
    event = fake_stripe.complete(started["session_id"])  # the genuine event is then fulfilled
    event["id"] += "-genuine"
    assert (await deliver(pay_app, event)).json["data"]["outcome"] == "paid"


@pytest.mark.parametrize("amount", [True, "1", 1.0, "0x1", [1], {"n": 1}])
async def test_credit_quantities_take_json_integers_only(pay_app: Sanic, pool: asyncpg.Pool, amount: Any) -> None:
    tokens = await email_user(pay_app, "strict@example.com")
    await grant(pool, tokens["user"]["id"], 10)
    for path in ("spend", "reserve"):
        body = {"quantity": amount, "feature": "chat.flash", "idempotency_key": f"strict-{path}-0001"}
        _, response = await pay_app.asgi_client.post(f"/api/credits/{path}", json=body, headers=bearer(tokens))
        assert response.status == 400, (path, amount, response.text)
        assert response.json["error"]["details"]["fields"][0]["loc"] == "quantity"
    body = {"usage_id": True, "idempotency_key": "strict-release-1"}
    _, response = await pay_app.asgi_client.post("/api/credits/release", json=body, headers=bearer(tokens))
    assert response.status == 400
    _, balance = await pay_app.asgi_client.get("/api/credits/balance", headers=bearer(tokens))
    assert balance.json["data"] == {"available": 10, "held": 0}  # nothing was spent
    # The same body with a JSON integer is spent: the rule refuses the type, not the request.
    body = {"quantity": 1, "feature": "chat.flash", "idempotency_key": "strict-ok-00001"}
    _, response = await pay_app.asgi_client.post("/api/credits/spend", content=json.dumps(body), headers=bearer(tokens))
    assert response.status in (200, 201), response.text


async def test_page_limits_take_plain_digits_only(pay_app: Sanic) -> None:
    tokens = await email_user(pay_app, "limits@example.com")
    for limit in ("10.0", "+10", " 10", "1_0", "true"):
        _, response = await pay_app.asgi_client.get(f"/api/credits/history?limit={limit}", headers=bearer(tokens))
        assert response.status == 400, (limit, response.text)
    _, response = await pay_app.asgi_client.get("/api/credits/history?limit=10", headers=bearer(tokens))
    assert response.status == 200


async def test_a_price_in_the_body_is_refused_and_unknown_features_have_no_price(
    pay_app: Sanic, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "tamper@example.com")
    await grant(pool, tokens["user"]["id"], 10)
    for body in (
        {"feature": "chat.pro", "amount": 1, "idempotency_key": "tamper-0001"},  # a client's own price
        {"feature": "chat.pro", "price": 0, "idempotency_key": "tamper-0002"},
        {"feature": "free.stuff", "idempotency_key": "tamper-0003"},  # a feature the list does not price
        {"feature": "video.generate", "idempotency_key": "tamper-0004"},  # priced by POST /api/generate only
    ):
        _, response = await pay_app.asgi_client.post("/api/credits/spend", json=body, headers=bearer(tokens))
        assert response.status == 400, (body, response.text)
    _, balance = await pay_app.asgi_client.get("/api/credits/balance", headers=bearer(tokens))
    assert balance.json["data"] == {"available": 10, "held": 0}
    assert await pool.fetchval("SELECT count(*) FROM credit_usage") == 0
    _, spent = await pay_app.asgi_client.post(
        "/api/credits/spend", json={"feature": "chat.pro", "quantity": 2, "idempotency_key": "tamper-0005"},
        headers=bearer(tokens),
    )  # fmt: skip
    assert spent.json["data"]["amount"] == 10 and spent.json["data"]["balance"]["available"] == 0  # 2 x 5
