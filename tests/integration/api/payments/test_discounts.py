"""Discount codes: admin creation, validation (window, package kind, owner), redemption limits in total and
per user that hold under concurrent checkouts (a real API process), reward codes, slots freed on expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sanic import Sanic

from api.settings import ApiSettings
from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import (
    PASSWORD,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    admin_user,
    bearer,
    checkout,
    deliver,
    email_user,
    start_workers,
)
from tests.processes import stop


async def create(app: Sanic, admin: dict, **body: object) -> object:
    _, response = await app.asgi_client.post("/api/admin/discount-codes", json=body, headers=bearer(admin))
    return response


async def validate(app: Sanic, tokens: dict, code: str, package_id: str) -> object:
    _, response = await app.asgi_client.post(
        "/api/discount/validate", json={"code": code, "package_id": package_id}, headers=bearer(tokens)
    )
    return response


async def test_create_and_validate(pay_app: Sanic, pool: asyncpg.Pool) -> None:
    admin = await admin_user(pay_app, pool)
    fan = await email_user(pay_app, "fan@example.com")
    assert (await create(pay_app, fan, code="NOPE", kind="bonus", percent=5)).status == 403
    made = await create(pay_app, admin, code="spring20", kind="percent_off", percent=20, package_kind="credits")
    assert made.status == 201 and made.json["data"]["code"] == "SPRING20"
    assert (await create(pay_app, admin, code="SPRING20", kind="bonus", percent=5)).status == 409
    assert (await create(pay_app, admin, code="GREEDY", kind="percent_off", percent=96)).status == 400
    now = datetime.now(UTC)
    old = {"valid_from": (now - timedelta(days=2)).isoformat(), "valid_until": (now - timedelta(days=1)).isoformat()}
    assert (await create(pay_app, admin, code="OLD10", kind="percent_off", percent=10, **old)).status == 201
    assert (await create(pay_app, admin, code="MORE50", kind="bonus", percent=50)).status == 201

    quoted = await validate(pay_app, fan, "spring20", "credits_250")
    assert quoted.status == 200, quoted.text
    fields = ("price_cents", "discount_cents", "charged_cents", "amount", "bonus")
    assert {k: quoted.json["data"][k] for k in fields} == {
        "price_cents": 1000, "discount_cents": 200, "charged_cents": 800, "amount": "250", "bonus": "0",
    }  # fmt: skip
    bonus = await validate(pay_app, fan, "MORE50", "coins_100")
    assert bonus.json["data"]["bonus"] == str(50 * 10**18) and bonus.json["data"]["charged_cents"] == 99
    for code, package, reason in (
        ("SPRING20", "coins_100", "wrong_package"),
        ("OLD10", "credits_100", "expired"),
        ("UNKNOWN", "credits_100", "not_found"),
    ):
        refused = await validate(pay_app, fan, code, package)
        assert refused.status == 400 and refused.json["error"]["code"] == "invalid_discount"
        assert refused.json["error"]["details"]["reason"] == reason


async def test_reward_code_and_a_slot_freed_by_an_expired_checkout(
    pay_app: Sanic, fake_stripe: FakeStripe, pool: asyncpg.Pool
) -> None:
    buyer = await email_user(pay_app, "buyer@example.com")
    started = await checkout(pay_app, buyer, "credits_100", discount_code="welcome10")
    assert started.status == 201 and started.json["data"]["charged_cents"] == 450
    assert (await checkout(pay_app, buyer, "credits_100", discount_code="WELCOME10")).status == 400  # 1 per user
    expired = await deliver(pay_app, fake_stripe.expire(started.json["data"]["session_id"]))
    assert expired.json["data"]["outcome"] == "expired"
    again = await checkout(pay_app, buyer, "credits_100", discount_code="WELCOME10")
    assert again.status == 201, again.text
    paid = await deliver(pay_app, fake_stripe.complete(again.json["data"]["session_id"]))
    assert paid.json["data"]["outcome"] == "paid"
    statuses = [r["status"] for r in await pool.fetch("SELECT status FROM discount_redemptions ORDER BY id")]
    assert statuses == ["released", "completed"]

    _, codes = await pay_app.asgi_client.get("/api/discount/my-codes", headers=bearer(buyer))
    [reward] = codes.json["data"]["items"]
    assert reward["owner_user_id"] == buyer["user"]["id"] and reward["max_redemptions"] == 1
    assert (await validate(pay_app, buyer, reward["code"], "credits_100")).status == 200
    stranger = await email_user(pay_app, "stranger@example.com")
    refused = await validate(pay_app, stranger, reward["code"], "credits_100")
    assert refused.status == 400 and refused.json["error"]["details"]["reason"] == "not_found"


async def test_redemption_limits_hold_under_concurrent_checkouts(
    settings: ApiSettings, fake_stripe: FakeStripe, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    extra = {
        "API_WORKERS": "2", "API_OUTBOX_DIR": str(tmp_path), "API_STRIPE_API_BASE": fake_stripe.url,
        "API_STRIPE_SECRET_KEY": STRIPE_KEY, "API_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "API_RATE_PURCHASE": "0",
    }  # fmt: skip
    await pool.execute(
        "INSERT INTO discount_codes (code, kind, percent, max_redemptions) VALUES ('FIVE', 'bonus', 10, 5)"
    )
    await pool.execute("INSERT INTO discount_codes (code, kind, percent, max_per_user) VALUES ('ONCE', 'bonus', 10, 1)")
    process, url = start_workers(settings, extra, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            users = []
            for i in range(12):
                signup = await client.post(
                    "/api/auth/signup", json={"email": f"u{i}@example.com", "password": PASSWORD}
                )
                users.append(signup.json()["data"])

            async def buy(tokens: dict, code: str) -> httpx.Response:
                body = {"package_id": "credits_100", "discount_code": code}
                return await client.post("/api/payment/checkout", json=body, headers=bearer(tokens))

            results = await asyncio.gather(*(buy(u, "FIVE") for u in users))
            statuses = sorted(r.status_code for r in results)
            assert statuses == [201] * 5 + [400] * 7, [r.text for r in results]
            reasons = {r.json()["error"]["details"]["reason"] for r in results if r.status_code == 400}
            assert reasons == {"exhausted"}

            same_user = await asyncio.gather(*(buy(users[0], "ONCE") for _ in range(6)))
            assert sorted(r.status_code for r in same_user) == [201] + [400] * 5

            # One completed session's webhook delivered 5 times at once (2 workers): one effect.
            paid = next(r.json()["data"] for r in results if r.status_code == 201)
            body, header = FakeStripe.signed(fake_stripe.complete(paid["session_id"]), WEBHOOK_SECRET)
            deliveries = await asyncio.gather(*(
                client.post("/api/payment/webhook", content=body, headers={"Stripe-Signature": header})
                for _ in range(5)
            ))  # fmt: skip
            outcomes = sorted(r.json()["data"]["outcome"] for r in deliveries)
            assert outcomes == ["duplicate"] * 4 + ["paid"], [r.text for r in deliveries]
    finally:
        stop(process)
    assert await pool.fetchval("SELECT redemptions FROM discount_codes WHERE code = 'FIVE'") == 5
    assert await pool.fetchval("SELECT count(*) FROM credit_transactions WHERE kind = 'purchase'") == 1
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM discount_redemptions r JOIN discount_codes c ON c.id = r.code_id "
            "WHERE c.code = 'FIVE'"
        )
        == 5
    )
