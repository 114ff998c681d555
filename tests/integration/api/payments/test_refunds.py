"""Refunds and disputes follow the README policy: credits are reversed through the ledger as far as
the balance allows (the rest flags the account); coins cannot be clawed back once minted or in flight,
so the account is flagged (a full refund before the relayer took the mint cancels it instead).
A flagged account cannot buy until an admin clears the flag."""

from __future__ import annotations

import asyncpg
from sanic import Sanic

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import admin_user, bearer, checkout, deliver, wallet_user
from tests.integration.helpers import make_relayer, relay_all


async def buy(app: Sanic, fake: FakeStripe, tokens: dict, package_id: str) -> str:
    response = await checkout(app, tokens, package_id)
    assert response.status == 201, response.text
    session_id = response.json["data"]["session_id"]
    paid = await deliver(app, fake.complete(session_id))
    assert paid.json["data"]["outcome"] == "paid", paid.text
    return session_id


async def balance(app: Sanic, tokens: dict) -> dict:
    _, response = await app.asgi_client.get("/api/credits/balance", headers=bearer(tokens))
    return response.json["data"]


async def test_credit_refund_takes_back_what_is_left_and_flags_the_rest(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens, _ = await wallet_user(pay_app)
    session_id = await buy(pay_app, fake_stripe, tokens, "credits_100")
    assert await balance(pay_app, tokens) == {"available": 100, "held": 0}
    _, spent = await pay_app.asgi_client.post(
        "/api/credits/spend", json={"feature": "chat.pro", "quantity": 6, "idempotency_key": "spend-before-refund"},
        headers=bearer(tokens),
    )  # fmt: skip
    assert spent.status == 200

    refunded = await deliver(pay_app, fake_stripe.refund(session_id))
    assert refunded.json["data"]["outcome"] == "refunded_flagged"
    assert await balance(pay_app, tokens) == {"available": 0, "held": 0}
    row = await pool.fetchrow("SELECT status, credits_reversed, credits_unrecovered FROM payments")
    assert dict(row) == {"status": "refunded", "credits_reversed": 70, "credits_unrecovered": 30}
    assert await pool.fetchval("SELECT coalesce(sum(amount), 0) FROM credit_entries") == 0

    blocked = await checkout(pay_app, tokens, "credits_100")
    assert blocked.status == 403 and blocked.json["error"]["code"] == "account_flagged"

    admin = await admin_user(pay_app, pool)
    _, forbidden = await pay_app.asgi_client.get("/api/admin/flags", headers=bearer(tokens))
    assert forbidden.status == 403
    _, flags = await pay_app.asgi_client.get("/api/admin/flags", headers=bearer(admin))
    [flag] = flags.json["data"]["items"]
    assert flag["user_id"] == tokens["user"]["id"] and flag["reason"] == "refund"
    assert flag["details"]["credits_unrecovered"] == "30"
    _, cleared = await pay_app.asgi_client.post(
        f"/api/admin/flags/{flag['id']}/clear", json={"note": "customer repaid by bank transfer"}, headers=bearer(admin)
    )
    assert cleared.status == 200 and cleared.json["data"]["cleared_at"] is not None
    assert (await checkout(pay_app, tokens, "credits_100")).status == 201


async def test_partial_refund_then_dispute(pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool) -> None:
    tokens, _ = await wallet_user(pay_app)
    session_id = await buy(pay_app, fake_stripe, tokens, "credits_250")  # $10.00
    half = await deliver(pay_app, fake_stripe.refund(session_id, amount=500))
    assert half.json["data"]["outcome"] == "partially_refunded"
    assert await balance(pay_app, tokens) == {"available": 125, "held": 0}
    assert await pool.fetchval("SELECT count(*) FROM account_flags") == 0

    disputed = await deliver(pay_app, fake_stripe.dispute(session_id))
    assert disputed.json["data"]["outcome"] == "disputed_flagged"  # a dispute always flags
    assert await balance(pay_app, tokens) == {"available": 0, "held": 0}
    row = await pool.fetchrow("SELECT status, credits_reversed, credits_unrecovered FROM payments")
    assert dict(row) == {"status": "disputed", "credits_reversed": 250, "credits_unrecovered": 0}
    _, history = await pay_app.asgi_client.get("/api/payment/history", headers=bearer(tokens))
    assert history.json["data"]["items"][0]["status"] == "disputed"


async def test_coin_refunds_cancel_an_unsent_mint_or_flag(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool, chain: str, manifest: Manifest, relayer_key: str
) -> None:
    tokens, _ = await wallet_user(pay_app)
    first = await buy(pay_app, fake_stripe, tokens, "coins_100")
    refunded = await deliver(pay_app, fake_stripe.refund(first))
    assert refunded.json["data"]["outcome"] == "refunded"  # the mint had not left: cancelled, no flag
    assert await pool.fetchval("SELECT status FROM tx_requests") == "cancelled"
    assert await pool.fetchval("SELECT count(*) FROM account_flags") == 0

    second = await buy(pay_app, fake_stripe, tokens, "coins_550")
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
    refunded = await deliver(pay_app, fake_stripe.refund(second))
    assert refunded.json["data"]["outcome"] == "refunded_flagged"  # minted: cannot be clawed back
    flag = await pool.fetchrow("SELECT reason, details FROM account_flags")
    assert flag["reason"] == "refund" and flag["details"]["coins"] == str(550 * 10**18)
    assert (await checkout(pay_app, tokens, "coins_100")).status == 403


async def test_events_for_unknown_sessions_and_other_types_are_acknowledged(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    unknown = await deliver(pay_app, FakeStripe.event("checkout.session.completed", {"id": "cs_nope"}))
    other = await deliver(pay_app, FakeStripe.event("customer.created", {"id": "cus_1"}))
    assert unknown.json["data"]["outcome"] == "unknown_session" and other.json["data"]["outcome"] == "ignored"
    _, not_an_event = await pay_app.asgi_client.post(
        "/api/payment/webhook", content=b"[]", headers={"Stripe-Signature": FakeStripe.signed({}, "x")[1]}
    )
    assert not_an_event.status == 400
    assert await pool.fetchval("SELECT count(*) FROM stripe_events") == 2
