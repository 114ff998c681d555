"""Helpers of the subscription tests: the seeded plans' prices at the fake, a subscribed user, reads."""

from __future__ import annotations

from typing import Any

import asyncpg
from sanic import Sanic

from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import bearer, deliver

PRICES = {"price_basic_monthly": 999, "price_pro_monthly": 2999, "price_studio_monthly": 9999}
CREDITS = {"basic": 500, "pro": 2000, "studio": 10000}


def add_prices(fake: FakeStripe) -> None:
    for price_id, cents in PRICES.items():
        fake.add_price(price_id, cents)


async def post(app: Sanic, tokens: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    _, response = await app.asgi_client.post(f"/api/subscriptions/{path}", json=body or {}, headers=bearer(tokens))
    return response


async def status(app: Sanic, tokens: dict[str, Any]) -> dict[str, Any]:
    _, response = await app.asgi_client.get("/api/subscriptions/status", headers=bearer(tokens))
    assert response.status == 200, response.text
    return response.json["data"]


async def available(app: Sanic, tokens: dict[str, Any]) -> int:
    _, response = await app.asgi_client.get("/api/credits/balance", headers=bearer(tokens))
    assert response.status == 200, response.text
    return int(response.json["data"]["available"])


async def grants(pool: asyncpg.Pool) -> list[tuple[int, int, str]]:
    rows = await pool.fetch("SELECT user_id, amount, idempotency_key FROM credit_transactions "
                            "WHERE kind = 'subscription' ORDER BY id")  # fmt: skip
    return [(r["user_id"], r["amount"], r["idempotency_key"]) for r in rows]


async def outcome(app: Sanic, event: dict[str, Any]) -> str:
    response = await deliver(app, event)
    assert response.status == 200, response.text
    return str(response.json["data"]["outcome"])


def of(fake: FakeStripe, sub_id: str, kind: str) -> list[dict[str, Any]]:
    """The fake's events of this kind about this subscription (or its invoices), oldest first."""

    def about(event: dict[str, Any]) -> bool:
        obj = event["data"]["object"]
        parent = (obj.get("parent") or {}).get("subscription_details") or {}
        return sub_id in (obj.get("id"), obj.get("subscription"), parent.get("subscription"))

    return [e for e in fake.events if e["type"] == kind and about(e)]


async def subscribe(app: Sanic, fake: FakeStripe, tokens: dict[str, Any], plan_id: str = "basic") -> str:
    """Checkout → paid at the fake → its events delivered in Stripe's order; returns the subscription id."""
    response = await post(app, tokens, "checkout", {"plan_id": plan_id})
    assert response.status == 201, response.text
    session_id = response.json["data"]["session_id"]
    completed = fake.complete(session_id)
    sub_id = completed["data"]["object"]["subscription"]
    assert await outcome(app, of(fake, sub_id, "customer.subscription.created")[-1]) == "subscription_active"
    assert await outcome(app, of(fake, sub_id, "invoice.paid")[-1]) == "granted"
    assert await outcome(app, completed) == "subscription_started"
    return str(sub_id)
