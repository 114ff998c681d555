"""Subscriptions on real services: the real stripe library against the fake Stripe (subscription-mode
Checkout, Subscription retrieve/modify, its signed events), Postgres and the credits ledger.

Checkout → completed → invoice.paid grants the plan's credits once; the same invoice told again (same
event, another event) grants nothing more; a forged signature writes nothing; an invoice.paid before
any other event of its subscription grants once to the right user; upgrade and downgrade; cancel at
period end → subscription.deleted → canceled, nothing more billed or granted; the next period grants."""

from __future__ import annotations

import asyncio
import copy
import subprocess
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from sanic import Sanic

from api.settings import ApiSettings
from tests.fake_stripe import FakeStripe
from tests.integration.api.payments.conftest import (
    PASSWORD,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    admin_user,
    bearer,
    deliver,
    email_user,
    start_workers,
)
from tests.integration.api.payments.subscriptions import (
    CREDITS,
    add_prices,
    available,
    grants,
    of,
    outcome,
    post,
    status,
    subscribe,
)


@pytest.fixture
def billing(fake_stripe: FakeStripe) -> FakeStripe:
    add_prices(fake_stripe)
    return fake_stripe


async def test_checkout_then_invoice_paid_grants_once_and_each_period_again(
    pay_app: Sanic, billing: FakeStripe, pool: asyncpg.Pool
) -> None:
    _, plans = await pay_app.asgi_client.get("/api/subscriptions/plans")
    assert [(p["id"], p["monthly_credits"]) for p in plans.json["data"]["plans"]] == list(CREDITS.items())
    tokens = await email_user(pay_app, "subscriber@example.com")
    user_id = tokens["user"]["id"]
    assert (await status(pay_app, tokens))["status"] == "none"

    response = await post(pay_app, tokens, "checkout", {"plan_id": "basic"})
    assert response.status == 201, response.text
    started = response.json["data"]
    assert started["checkout_url"].startswith(billing.url) and started["plan"]["id"] == "basic"
    method, path, form = billing.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert form["mode"] == "subscription" and form["line_items"][0] == {"price": "price_basic_monthly", "quantity": "1"}
    assert form["subscription_data"]["metadata"] == {"user_id": str(user_id), "plan_id": "basic"}
    customer = form["customer"]
    assert billing.customers[customer]["metadata"] == {"user_id": str(user_id)}

    # Paid at Stripe: its events, a forged copy first (refused, nothing written), then the genuine ones.
    completed = billing.complete(started["session_id"])
    sub_id = completed["data"]["object"]["subscription"]
    [paid] = of(billing, sub_id, "invoice.paid")
    before = await pool.fetchval("SELECT count(*) FROM stripe_events")
    forged = await deliver(pay_app, paid, secret="whsec_forged_0000000000000")
    assert forged.status == 400 and forged.json["error"]["code"] == "invalid_signature"
    assert await pool.fetchval("SELECT count(*) FROM stripe_events") == before
    assert await grants(pool) == [] and await available(pay_app, tokens) == 0

    assert await outcome(pay_app, of(billing, sub_id, "customer.subscription.created")[0]) == "subscription_active"
    assert await outcome(pay_app, paid) == "granted"
    assert await outcome(pay_app, completed) == "subscription_started"
    assert await available(pay_app, tokens) == 500
    now = await status(pay_app, tokens)
    assert (now["status"], now["plan"]["id"], now["subscription_id"]) == ("active", "basic", sub_id)
    period_end = billing.subscriptions[sub_id]["items"]["data"][0]["current_period_end"]
    assert datetime.fromisoformat(now["current_period_end"]).timestamp() == period_end
    assert now["cancel_at_period_end"] is False and now["invoices"][0]["credits"] == 500

    # The same invoice again: the same event (a retry), and a new event about the same invoice.
    again = await deliver(pay_app, paid)
    assert again.status == 200 and again.json["data"]["duplicate"] is True
    resent = {**copy.deepcopy(paid), "id": "evt_test_resent_0001"}
    assert await outcome(pay_app, resent) == "already_granted"
    assert await grants(pool) == [(user_id, 500, f"subscription-invoice:{paid['data']['object']['id']}")]
    _, history = await pay_app.asgi_client.get("/api/credits/history", headers=bearer(tokens))
    assert [(t["kind"], t["amount"]) for t in history.json["data"]["items"]] == [("subscription", 500)]

    # A second subscription while this one runs: refused (change its plan instead).
    twice = await post(pay_app, tokens, "checkout", {"plan_id": "pro"})
    assert twice.status == 409 and twice.json["error"]["code"] == "already_subscribed"

    # The next period: Stripe's next invoice grants again.
    renewal = billing.renew(sub_id)
    assert [e["type"] for e in renewal] == ["invoice.paid", "customer.subscription.updated"]
    assert [await outcome(pay_app, e) for e in renewal] == ["granted", "subscription_active"]
    assert await available(pay_app, tokens) == 1000 and len(await grants(pool)) == 2
    later = await status(pay_app, tokens)
    assert datetime.fromisoformat(later["current_period_end"]).timestamp() == period_end + 30 * 86400


async def test_an_invoice_paid_before_anything_else_grants_once_to_its_user(
    pay_app: Sanic, billing: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "early@example.com")
    await email_user(pay_app, "someone-else@example.com")
    response = await post(pay_app, tokens, "checkout", {"plan_id": "pro"})
    completed = billing.complete(response.json["data"]["session_id"])
    sub_id = completed["data"]["object"]["subscription"]
    created = of(billing, sub_id, "customer.subscription.created")[0]
    [paid] = of(billing, sub_id, "invoice.paid")

    # Stripe's events out of order: the invoice first, the checkout, then the subscription's creation.
    assert await outcome(pay_app, paid) == "granted"
    assert (await status(pay_app, tokens))["status"] == "active"  # known from its invoice
    assert await outcome(pay_app, completed) == "subscription_started"
    assert await outcome(pay_app, created) == "subscription_active"
    assert await grants(pool) == [(tokens["user"]["id"], 2000, f"subscription-invoice:{paid['data']['object']['id']}")]

    # An older state told after a newer one is not applied.
    await post(pay_app, tokens, "cancel")
    newer = of(billing, sub_id, "customer.subscription.updated")[-1]
    older = {**copy.deepcopy(newer), "id": "evt_test_older_0001", "created": newer["created"] - 100}
    older["data"]["object"]["cancel_at_period_end"] = False
    assert await outcome(pay_app, older) == "stale"
    assert (await status(pay_app, tokens))["cancel_at_period_end"] is True

    # An invoice of a subscription nobody here started, naming no user: recorded, no grant.
    stranger = copy.deepcopy(paid)
    stranger["id"], stranger["data"]["object"]["id"] = "evt_test_stranger_01", "in_test_stranger_01"
    stranger["data"]["object"]["customer"] = "cus_test_unknown"
    details = stranger["data"]["object"]["parent"]["subscription_details"]
    details["subscription"], details["metadata"] = "sub_test_unknown", {}
    assert await outcome(pay_app, stranger) == "unknown_customer"
    assert len(await grants(pool)) == 1


async def test_upgrade_and_downgrade_move_the_price_and_the_next_grants(
    pay_app: Sanic, billing: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "mover@example.com")
    sub_id = await subscribe(pay_app, billing, tokens, "basic")
    for body, code, status_code in (
        ({"plan_id": "basic"}, "same_plan", 409), ({"plan_id": "gold"}, "not_found", 404),
        ({"plan_id": "NOT A PLAN"}, "validation_error", 400), ({}, "validation_error", 400),
    ):  # fmt: skip
        refused = await post(pay_app, tokens, "change", body)
        assert refused.status == status_code, refused.text
        assert refused.json["success"] is False
        if code != "validation_error":
            assert refused.json["error"]["code"] == code

    upgraded = await post(pay_app, tokens, "change", {"plan_id": "pro"})
    assert upgraded.status == 200, upgraded.text
    assert upgraded.json["data"]["plan"]["id"] == "pro" and upgraded.json["data"]["status"] == "active"
    method, path, form = billing.requests[-1]
    assert (method, path) == ("POST", f"/v1/subscriptions/{sub_id}")
    item = billing.subscriptions[sub_id]["items"]["data"][0]
    assert form["items"] == [{"id": item["id"], "price": "price_pro_monthly"}]
    assert form["proration_behavior"] == "create_prorations" and item["price"]["id"] == "price_pro_monthly"
    assert await outcome(pay_app, of(billing, sub_id, "customer.subscription.updated")[-1]) in (
        "subscription_active", "stale",
    )  # fmt: skip
    assert await available(pay_app, tokens) == 500  # the upgrade's credits come with the next invoice

    # The next invoice: the prorations (unused basic credited, the rest on pro charged) and a pro period.
    events = billing.renew(sub_id)
    invoice = events[0]["data"]["object"]
    prorations = [line for line in invoice["lines"]["data"]
                  if line["parent"]["subscription_item_details"]["proration"]]  # fmt: skip
    assert len(prorations) == 2 and prorations[0]["amount"] < 0 < prorations[1]["amount"]
    assert invoice["amount_paid"] == sum(line["amount"] for line in invoice["lines"]["data"])
    assert await outcome(pay_app, events[0]) == "granted"
    assert await available(pay_app, tokens) == 500 + 2000

    downgraded = await post(pay_app, tokens, "change", {"plan_id": "basic"})
    assert downgraded.status == 200 and downgraded.json["data"]["plan"]["id"] == "basic"
    renewal = billing.renew(sub_id)
    assert [await outcome(pay_app, e) for e in renewal] == ["granted", "subscription_active"]
    assert await available(pay_app, tokens) == 500 + 2000 + 500
    assert [amount for _, amount, _ in await grants(pool)] == [500, 2000, 500]


async def test_cancel_at_period_end_then_deleted_grants_nothing_more(
    pay_app: Sanic, billing: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "leaver@example.com")
    for path in ("cancel", "resume", "change"):
        missing = await post(pay_app, tokens, path, {"plan_id": "pro"} if path == "change" else None)
        assert missing.status == 404 and missing.json["error"]["code"] == "no_subscription", missing.text
    sub_id = await subscribe(pay_app, billing, tokens, "basic")
    not_cancelling = await post(pay_app, tokens, "resume")
    assert not_cancelling.status == 409 and not_cancelling.json["error"]["code"] == "not_cancelling"

    cancelled = await post(pay_app, tokens, "cancel")
    assert cancelled.status == 200 and cancelled.json["data"]["cancel_at_period_end"] is True
    assert billing.requests[-1][2] == {"cancel_at_period_end": "true"}
    assert (await post(pay_app, tokens, "cancel")).json["data"]["cancel_at_period_end"] is True  # idempotent
    resumed = await post(pay_app, tokens, "resume")
    assert resumed.status == 200 and resumed.json["data"]["cancel_at_period_end"] is False
    assert billing.subscriptions[sub_id]["cancel_at_period_end"] is False
    await post(pay_app, tokens, "cancel")
    for event in of(billing, sub_id, "customer.subscription.updated"):
        assert await outcome(pay_app, event) in ("subscription_active", "stale")
    assert (await status(pay_app, tokens))["cancel_at_period_end"] is True

    # The period ends: Stripe ends the subscription instead of billing it.
    ended = billing.renew(sub_id)
    assert [e["type"] for e in ended] == ["customer.subscription.deleted"]
    assert await outcome(pay_app, ended[0]) == "subscription_canceled"
    final = await status(pay_app, tokens)
    assert final["status"] == "canceled" and final["ended_at"] is not None
    assert billing.renew(sub_id) == []  # nothing more is billed
    # A late update about the ended subscription does not revive it.
    late = {**copy.deepcopy(ended[0]), "id": "evt_test_late_0001", "type": "customer.subscription.updated",
            "created": int(time.time()) + 3600}  # fmt: skip
    late["data"]["object"]["status"] = "active"
    assert await outcome(pay_app, late) == "stale"
    # An invoice for a period after the end (none is made; told anyway): no grant.
    paid = copy.deepcopy(of(billing, sub_id, "invoice.paid")[-1])
    paid["id"], paid["data"]["object"]["id"] = "evt_test_after_end_01", "in_test_after_end_01"
    line = paid["data"]["object"]["lines"]["data"][-1]
    line["period"] = {"start": ended[0]["created"] + 10, "end": ended[0]["created"] + 10 + 30 * 86400}
    paid["data"]["object"]["billing_reason"] = "subscription_cycle"
    assert await outcome(pay_app, paid) == "ignored_canceled"
    assert await available(pay_app, tokens) == 500 and len(await grants(pool)) == 1

    for path in ("change", "resume", "cancel"):
        over = await post(pay_app, tokens, path, {"plan_id": "pro"} if path == "change" else None)
        assert over.status == 409 and over.json["error"]["code"] == "subscription_ended", over.text
    again = await post(pay_app, tokens, "checkout", {"plan_id": "pro"})  # a new subscription may start
    assert again.status == 201 and billing.requests[-1][2]["customer"] == billing.subscriptions[sub_id]["customer"]


async def test_plans_are_admin_editable_and_errors_are_enveloped(
    pay_app: Sanic, billing: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "plain@example.com")
    admin = await admin_user(pay_app, pool)
    body = {"name": "Pro", "stripe_price_id": "price_pro_v2", "monthly_credits": 2500, "price_cents": 3499}
    _, forbidden = await pay_app.asgi_client.put("/api/admin/subscription-plans/pro", json=body,
                                                 headers=bearer(tokens))  # fmt: skip
    assert forbidden.status == 403
    _, edited = await pay_app.asgi_client.put("/api/admin/subscription-plans/pro", json=body, headers=bearer(admin))
    assert edited.status == 200, edited.text
    assert edited.json["data"] == {**body, "id": "pro", "currency": "usd", "active": True, "position": 0}
    hidden = {"name": "Old", "stripe_price_id": "price_old", "monthly_credits": 1, "price_cents": 1, "active": False}
    _, made = await pay_app.asgi_client.put("/api/admin/subscription-plans/old", json=hidden, headers=bearer(admin))
    assert made.status == 200
    _, listed = await pay_app.asgi_client.get("/api/admin/subscription-plans", headers=bearer(admin))
    assert {p["id"] for p in listed.json["data"]["plans"]} == {"basic", "pro", "studio", "old"}
    _, public = await pay_app.asgi_client.get("/api/subscriptions/plans")
    assert "old" not in {p["id"] for p in public.json["data"]["plans"]}
    for path, payload in (
        ("pro", {**body, "stripe_price_id": "price_basic_monthly"}),  # another plan's price
        ("Not-A-Plan", body), ("pro", {**body, "monthly_credits": "2500"}), ("pro", {**body, "monthly_credits": 0}),
    ):  # fmt: skip
        _, refused = await pay_app.asgi_client.put(f"/api/admin/subscription-plans/{path}", json=payload,
                                                   headers=bearer(admin))  # fmt: skip
        assert refused.status in (400, 409) and refused.json["success"] is False, refused.text

    # Checkout of an inactive plan, of a price Stripe does not have, without signing in.
    assert (await post(pay_app, tokens, "checkout", {"plan_id": "old"})).status == 404
    unknown_price = await post(pay_app, tokens, "checkout", {"plan_id": "pro"})  # price_pro_v2 is not at Stripe
    assert unknown_price.status == 503 and unknown_price.json["error"]["code"] == "payments_unavailable"
    _, anonymous = await pay_app.asgi_client.post("/api/subscriptions/checkout", json={"plan_id": "basic"})
    assert anonymous.status == 401 and anonymous.json["success"] is False
    billing.add_price("price_pro_v2", 3499)
    assert (await post(pay_app, tokens, "checkout", {"plan_id": "pro"})).status == 201


async def test_concurrent_deliveries_of_one_invoice_grant_once(
    settings: ApiSettings, billing: FakeStripe, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    extra = {
        "API_WORKERS": "2", "API_OUTBOX_DIR": str(tmp_path), "API_STRIPE_API_BASE": billing.url,
        "API_STRIPE_SECRET_KEY": STRIPE_KEY, "API_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "API_RATE_PURCHASE": "0",
    }  # fmt: skip
    process, url = start_workers(settings, extra, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            signup = await client.post("/api/auth/signup", json={"email": "racer@example.com", "password": PASSWORD})
            tokens = signup.json()["data"]
            started = await client.post("/api/subscriptions/checkout", json={"plan_id": "studio"},
                                        headers=bearer(tokens))  # fmt: skip
            assert started.status_code == 201, started.text
            completed = billing.complete(started.json()["data"]["session_id"])
            sub_id = completed["data"]["object"]["subscription"]
            [paid] = of(billing, sub_id, "invoice.paid")
            copies = [{**paid, "id": f"evt_test_copy_{i:04d}"} for i in range(3)]
            # The same event 5 times, 3 other events about the same invoice, and the subscription's own
            # events, all at once on 2 workers.
            events = [paid] * 5 + copies + [completed, of(billing, sub_id, "customer.subscription.created")[0]]

            async def send(event: dict) -> httpx.Response:
                body, header = FakeStripe.signed(event, WEBHOOK_SECRET)
                return await client.post("/api/payment/webhook", content=body, headers={"Stripe-Signature": header})

            answers = await asyncio.gather(*(send(e) for e in events))
            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
            outcomes = sorted(a.json()["data"]["outcome"] for a in answers[:8])
            assert outcomes == ["already_granted"] * 3 + ["duplicate"] * 4 + ["granted"], outcomes
            balance = await client.get("/api/credits/balance", headers=bearer(tokens))
            assert balance.json()["data"]["available"] == CREDITS["studio"]
            state = (await client.get("/api/subscriptions/status", headers=bearer(tokens))).json()["data"]
            assert (state["status"], state["plan"]["id"]) == ("active", "studio")
    finally:
        process.terminate()
        try:
            process.wait(60)  # a loaded machine stops 2 workers slowly
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    assert len(await grants(pool)) == 1
    assert await pool.fetchval("SELECT count(*) FROM subscription_invoices") == 1


async def test_signed_subscription_events_of_any_shape_answer_cleanly(
    pay_app: Sanic, billing: FakeStripe, pool: asyncpg.Pool
) -> None:
    tokens = await email_user(pay_app, "shapes@example.com")
    sub_id = await subscribe(pay_app, billing, tokens, "basic")
    sub = billing.subscriptions[sub_id]
    [paid] = of(billing, sub_id, "invoice.paid")
    invoice = paid["data"]["object"]
    nobody = {"id": "sub_test_nobody", "status": "active", "metadata": {"user_id": "9" * 30}}
    shapes = [
        ("customer.subscription.updated", {**sub, "status": 5}),
        ("customer.subscription.updated", {**sub, "items": "many", "cancel_at_period_end": "yes"}),
        ("customer.subscription.updated", {**sub, "id": ["sub"], "customer": {"id": 7}}),
        ("customer.subscription.deleted", {**sub, "status": "active"}),
        ("customer.subscription.created", nobody),
        ("invoice.paid", {**invoice, "id": "in_test_shape_1", "lines": 7, "parent": {"subscription_details": 1}}),
        ("invoice.paid", {**invoice, "id": "in_test_shape_2", "lines": {"data": [None, {"pricing": []}]}}),
        ("invoice.paid", {**invoice, "id": "in_test_shape_3", "amount_paid": 10**30, "status": "open"}),
        ("invoice.paid", {**invoice, "id": "in_test_shape_4", "billing_reason": "manual"}),
        ("checkout.session.completed", {"id": "cs_test_nope", "mode": "subscription", "subscription": 3}),
    ]  # fmt: skip
    outcomes = []
    for i, (kind, obj) in enumerate(shapes):
        event = {**billing.event(kind, obj), "id": f"evt_test_shape_{i:02d}"}
        if i == 0:
            event["created"] = 10**40  # out of range: read as unknown (0), so older than any state
        elif i == 1:
            event["created"] = int(time.time()) + 10**4  # newer than the state held
        response = await deliver(pay_app, event)
        assert response.status == 200, response.text
        outcomes.append(response.json["data"]["outcome"])
    assert outcomes == [
        "malformed", "subscription_active", "malformed", "malformed", "unknown_customer", "not_a_subscription",
        "granted", "awaiting_payment", "no_grant", "unknown_session",
    ], outcomes  # fmt: skip
    # The invoice with shapeless lines named its subscription and plan (the metadata snapshot): granted once.
    assert [amount for _, amount, _ in await grants(pool)] == [500, 500]
    assert (await status(pay_app, tokens))["status"] == "active"
