"""The money path on real services: checkout (real stripe library → fake Stripe) → signed webhook →
relayer mint on anvil → indexed → the payment shows `minted` and the balance is visible; the same
webhook 5 times mints once; forged, stale or missing signatures are refused and write nothing."""

from __future__ import annotations

import hashlib
import time

import asyncpg
from sanic import Sanic

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.queue.kinds import validate_mint
from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import bearer, checkout, deliver, wallet_user
from tests.integration.helpers import make_indexer, make_relayer, relay_all, sync

COINS_100 = 100 * 10**18


async def counts(pool: asyncpg.Pool) -> tuple[int, int, list[str]]:
    events = await pool.fetchval("SELECT count(*) FROM stripe_events")
    mints = await pool.fetchval("SELECT count(*) FROM tx_requests WHERE kind = 'mint'")
    statuses = [r["status"] for r in await pool.fetch("SELECT status FROM payments ORDER BY id")]
    return events, mints, statuses


async def history(app: Sanic, tokens: dict) -> list[dict]:
    _, response = await app.asgi_client.get("/api/payment/history", headers=bearer(tokens))
    assert response.status == 200, response.text
    return response.json["data"]["items"]


async def test_checkout_webhook_mint_index_minted(
    pay_app: Sanic, fake_stripe: FakeStripe, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    tokens, wallet = await wallet_user(pay_app)
    _, packages = await pay_app.asgi_client.get("/api/payment/packages")
    coins = next(p for p in packages.json["data"]["packages"] if p["id"] == "coins_100")
    assert coins["amount"] == str(COINS_100) and coins["kind"] == "coins"

    response = await checkout(pay_app, tokens, "coins_100")
    assert response.status == 201, response.text
    started = response.json["data"]
    session_id = started["session_id"]
    assert started["checkout_url"].startswith(fake_stripe.url) and started["wallet"] == wallet
    expected_ref = "0x" + hashlib.sha256(b"stripe-checkout-session:" + session_id.encode()).hexdigest()
    assert started["payment_ref"] == expected_ref and started["charged_cents"] == 99
    method, path, form = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert form["line_items"][0]["price_data"]["unit_amount"] == "99"
    assert form["metadata"]["payment_id"] == str(started["payment_id"]) and form["mode"] == "payment"
    assert (await history(pay_app, tokens))[0]["status"] == "pending"

    # A forged, a stale, a tampered and a missing signature: 400, nothing written.
    event = fake_stripe.complete(session_id)
    before = await counts(pool)
    forged = await deliver(pay_app, event, secret="whsec_forged_0000000000000")
    stale = await deliver(pay_app, event, timestamp=int(time.time()) - 3600)
    body, header = FakeStripe.signed(event, "whsec_test_0123456789abcdef")
    _, tampered = await pay_app.asgi_client.post(
        "/api/payment/webhook", content=body.replace(b'"paid"', b'"PAID"'), headers={"Stripe-Signature": header}
    )
    _, missing = await pay_app.asgi_client.post("/api/payment/webhook", content=body)
    for refused in (forged, stale, tampered, missing):
        assert refused.status == 400, refused.text
        assert refused.json["success"] is False and refused.json["error"]["code"] == "invalid_signature"
    assert await counts(pool) == before == (0, 0, ["pending"])

    # The genuine event, delivered 5 times: one effect (5 at once: test_discounts.py, on a real server).
    first = await deliver(pay_app, event)
    assert first.status == 200 and first.json["data"] == {"received": True, "duplicate": False, "outcome": "paid"}
    again = [await deliver(pay_app, event) for _ in range(4)]
    assert all(r.status == 200 and r.json["data"]["duplicate"] for r in again)
    assert await counts(pool) == (1, 1, ["paid"])
    request = await pool.fetchrow("SELECT idempotency_key, payload, status FROM tx_requests WHERE kind = 'mint'")
    assert request["idempotency_key"] == f"mint:{expected_ref}" and request["status"] == "pending"
    assert request["payload"] == {"to": wallet, "amount": str(COINS_100), "payment_ref": expected_ref}
    assert validate_mint(request["payload"]) == request["payload"]  # the relayer's own validator agrees
    [paid] = await history(pay_app, tokens)
    assert paid["status"] == "paid" and paid["mint_request_status"] == "pending" and paid["mint_tx_hash"] is None

    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
        await sync(make_indexer(manifest, pool, client))
    tx_hash = await pool.fetchval("SELECT tx_hash FROM tx_requests WHERE kind = 'mint'")

    [minted] = await history(pay_app, tokens)
    assert minted["status"] == "minted" and minted["mint_request_status"] == "confirmed"
    assert minted["mint_tx_hash"] == tx_hash and minted["mint_block"] > 0
    _, balances = await pay_app.asgi_client.get(f"/api/balances/{wallet}")
    coin = next(b for b in balances.json["data"]["balances"] if b["token"] == "Coin")
    assert coin["balance"] == str(COINS_100)
    _, mint = await pay_app.asgi_client.get(f"/api/mints/{expected_ref}")
    assert mint.status == 200 and mint.json["data"]["mint"]["tx_hash"] == tx_hash

    # Stripe retries after the mint: still one mint, and a reward code was issued once.
    assert (await deliver(pay_app, event)).json["data"]["duplicate"] is True
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == 1
    _, codes = await pay_app.asgi_client.get("/api/discount/my-codes", headers=bearer(tokens))
    assert len(codes.json["data"]["items"]) == 1 and codes.json["data"]["items"][0]["kind"] == "percent_off"


async def test_checkout_refused_when_stripe_is_down_or_input_is_wrong(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens, _ = await wallet_user(pay_app)
    fake_stripe.fail_next = 10  # more than the library's retries
    down = await checkout(pay_app, tokens, "credits_100", discount_code="WELCOME10")
    assert down.status == 503 and down.json["error"]["code"] == "payments_unavailable"
    row = await pool.fetchrow("SELECT status, discount_code_id FROM payments")
    assert row["status"] == "failed"
    assert await pool.fetchval("SELECT redemptions FROM discount_codes WHERE code = 'WELCOME10'") == 0
    fake_stripe.fail_next = 0
    assert (await checkout(pay_app, tokens, "credits_100", discount_code="WELCOME10")).status == 201

    assert (await checkout(pay_app, tokens, "nope")).status == 404
    other = "0x" + "12" * 20
    assert (await checkout(pay_app, tokens, "coins_100", wallet=other)).status == 400
    _, anonymous = await pay_app.asgi_client.post("/api/payment/checkout", json={"package_id": "coins_100"})
    assert anonymous.status == 401


async def test_a_lost_webhook_is_made_up_by_reading_the_payment(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens, _ = await wallet_user(pay_app)
    started = (await checkout(pay_app, tokens, "credits_100")).json["data"]
    _, pending = await pay_app.asgi_client.get(f"/api/payment/{started['payment_id']}", headers=bearer(tokens))
    assert pending.status == 200 and pending.json["data"]["status"] == "pending"
    assert fake_stripe.requests[-1][:2] == ("GET", f"/v1/checkout/sessions/{started['session_id']}")

    event = fake_stripe.complete(started["session_id"])  # Stripe sent it; it never arrived
    _, paid = await pay_app.asgi_client.get(f"/api/payment/{started['payment_id']}", headers=bearer(tokens))
    assert paid.status == 200 and paid.json["data"]["status"] == "paid"
    late = await deliver(pay_app, event)
    assert late.json["data"]["outcome"] == "already_paid"
    _, balance = await pay_app.asgi_client.get("/api/credits/balance", headers=bearer(tokens))
    assert balance.json["data"] == {"available": 100, "held": 0}

    stranger, _ = await wallet_user(pay_app)
    _, hidden = await pay_app.asgi_client.get(f"/api/payment/{started['payment_id']}", headers=bearer(stranger))
    assert hidden.status == 404
    _, bad = await pay_app.asgi_client.get("/api/payment/12ab", headers=bearer(tokens))
    assert bad.status == 400


async def test_a_session_paid_for_another_amount_is_not_fulfilled(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens, _ = await wallet_user(pay_app)
    started = (await checkout(pay_app, tokens, "credits_100")).json["data"]
    event = fake_stripe.complete(started["session_id"])
    event["data"]["object"]["amount_total"] = 1
    assert (await deliver(pay_app, event)).json["data"]["outcome"] == "amount_mismatch"
    assert await pool.fetchval("SELECT status FROM payments") == "pending"
    assert await pool.fetchval("SELECT count(*) FROM credit_transactions") == 0
