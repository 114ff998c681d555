"""Coins before a wallet: an account without a wallet pays (real stripe library → fake Stripe), the
mint waits unclaimed, the first wallet linked with Sign-In With Ethereum receives it exactly once on
anvil (relayer → chain → indexer), and a refund or dispute before the claim cancels it cleanly."""

from __future__ import annotations

import asyncpg
from eth_account import Account
from sanic import Sanic

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import bearer, checkout, deliver, email_user
from tests.integration.api.test_siwe import nonce, sign, siwe_message
from tests.integration.helpers import make_indexer, make_relayer, relay_all, sync

COINS_100 = 100 * 10**18


async def link_wallet(app: Sanic, tokens: dict) -> str:
    account = Account.create()
    text = siwe_message(account.address, await nonce(app))
    _, response = await app.asgi_client.post(
        "/api/auth/siwe/verify", json={"message": text, "signature": sign(account, text)}, headers=bearer(tokens)
    )
    assert response.status == 200, response.text
    assert response.json["data"]["user"]["id"] == tokens["user"]["id"]
    return account.address.lower()


async def buy_without_wallet(app: Sanic, fake: FakeStripe, tokens: dict) -> dict:
    response = await checkout(app, tokens, "coins_100")
    assert response.status == 201, response.text
    started = response.json["data"]
    assert started["wallet"] is None and started["kind"] == "coins"
    paid = await deliver(app, fake.complete(started["session_id"]))
    assert paid.json["data"]["outcome"] == "paid", paid.text
    return started


async def unclaimed(app: Sanic, tokens: dict) -> dict:
    _, response = await app.asgi_client.get("/api/payment/unclaimed", headers=bearer(tokens))
    assert response.status == 200, response.text
    return response.json["data"]


async def mints(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT idempotency_key, payload, status FROM tx_requests WHERE kind = 'mint' ORDER BY id")


async def test_coins_bought_before_a_wallet_arrive_once_at_the_first_linked_wallet(
    pay_app: Sanic, fake_stripe: FakeStripe, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    tokens = await email_user(pay_app, "walletless@example.com")
    started = await buy_without_wallet(pay_app, fake_stripe, tokens)
    ref = started["payment_ref"]
    assert await mints(pool) == []  # nowhere to send it yet
    waiting = await unclaimed(pay_app, tokens)
    assert waiting["total"] == str(COINS_100)
    [item] = waiting["items"]
    assert item["payment_ref"] == ref and item["id"] == started["payment_id"] and item["status"] == "paid"
    _, history = await pay_app.asgi_client.get("/api/payment/history", headers=bearer(tokens))
    assert history.json["data"]["items"][0]["claim_status"] == "waiting"
    # Stripe retries the completion: still waiting, still no mint.
    assert (await deliver(pay_app, fake_stripe.complete(started["session_id"]))).json["data"]["outcome"] == (
        "already_paid"
    )
    assert await mints(pool) == []

    first = await link_wallet(pay_app, tokens)
    [mint] = await mints(pool)
    assert mint["idempotency_key"] == f"mint:{ref}"
    assert mint["payload"] == {"to": first, "amount": str(COINS_100), "payment_ref": ref}
    assert await unclaimed(pay_app, tokens) == {"items": [], "total": "0"}
    second = await link_wallet(pay_app, tokens)  # a second wallet claims nothing more
    assert len(await mints(pool)) == 1

    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
        await sync(make_indexer(manifest, pool, client))
    assert await pool.fetchval("SELECT count(*) FROM token_mints WHERE payment_ref = $1", ref) == 1
    coins = {}
    for wallet in (first, second):
        _, balances = await pay_app.asgi_client.get(f"/api/balances/{wallet}")
        coins[wallet] = [b["balance"] for b in balances.json["data"]["balances"] if b["token"] == "Coin"]
    assert coins[first] == [str(COINS_100)] and coins[second] in ([], ["0"])
    _, history = await pay_app.asgi_client.get("/api/payment/history", headers=bearer(tokens))
    [minted] = history.json["data"]["items"]
    assert minted["status"] == "minted" and minted["claim_status"] == "claimed" and minted["wallet"] == first


async def test_a_buyer_with_a_wallet_by_the_time_the_webhook_arrives_gets_the_coins_directly(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "quick@example.com")
    response = await checkout(pay_app, tokens, "coins_100")
    started = response.json["data"]
    assert started["wallet"] is None
    wallet = await link_wallet(pay_app, tokens)  # linked while the checkout is still open
    assert await mints(pool) == []
    assert (await deliver(pay_app, fake_stripe.complete(started["session_id"]))).json["data"]["outcome"] == "paid"
    [mint] = await mints(pool)
    assert mint["payload"]["to"] == wallet and mint["payload"]["payment_ref"] == started["payment_ref"]
    assert await unclaimed(pay_app, tokens) == {"items": [], "total": "0"}


async def test_a_refund_or_dispute_before_the_claim_cancels_it_cleanly(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "refunded@example.com")
    started = await buy_without_wallet(pay_app, fake_stripe, tokens)
    refunded = await deliver(pay_app, fake_stripe.refund(started["session_id"]))
    assert refunded.json["data"]["outcome"] == "refunded"  # nothing minted, nothing to flag
    assert await pool.fetchval("SELECT count(*) FROM account_flags") == 0
    assert await unclaimed(pay_app, tokens) == {"items": [], "total": "0"}
    await link_wallet(pay_app, tokens)
    assert await mints(pool) == []
    again = await deliver(pay_app, fake_stripe.refund(started["session_id"]))
    assert again.json["data"]["outcome"] == "already_reversed"

    # A partial refund leaves the rest waiting (the account is flagged: those coins will be minted).
    other = await email_user(pay_app, "partial@example.com")
    partial = await buy_without_wallet(pay_app, fake_stripe, other)
    half = await deliver(pay_app, fake_stripe.refund(partial["session_id"], 40))
    assert half.json["data"]["outcome"] == "partially_refunded_flagged"
    assert (await unclaimed(pay_app, other))["total"] == str(COINS_100)
    wallet = await link_wallet(pay_app, other)
    [mint] = await mints(pool)
    assert mint["payload"]["to"] == wallet and mint["payload"]["payment_ref"] == partial["payment_ref"]

    # A dispute before the claim cancels the mint; the dispute itself flags the account.
    disputer = await email_user(pay_app, "disputer@example.com")
    disputed = await buy_without_wallet(pay_app, fake_stripe, disputer)
    outcome = await deliver(pay_app, fake_stripe.dispute(disputed["session_id"]))
    assert outcome.json["data"]["outcome"] == "disputed_flagged"
    flag = await pool.fetchval("SELECT details FROM account_flags WHERE user_id = $1", disputer["user"]["id"])
    assert "coins" not in flag
    await link_wallet(pay_app, disputer)
    assert len(await mints(pool)) == 1
    status = await pool.fetchval("SELECT claim_status FROM payments WHERE id = $1", disputed["payment_id"])
    assert status == "cancelled"
