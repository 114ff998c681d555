"""Subscriptions (README "Subscriptions"): plans, a subscription-mode Checkout, the subscription's status,
a plan change (``Subscription.modify`` with the new price; Stripe prorates), cancel at period end and
resume. The credits come with each paid invoice (``webhooks.py``).

Stripe is called outside any transaction; what it answers is then written like the event that
will follow (``state.apply_state``, ordered by time), so the status is current at once.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.credits.service import CreditLedger
from api.payments.service import StripeGateway
from api.settings import ApiSettings
from api.subscriptions import QUERIES
from api.subscriptions.problems import AlreadySubscribed, NoSubscription, NotCancelling, SamePlan, SubscriptionEnded
from api.subscriptions.state import apply_state as _apply_state
from api.subscriptions.state import read_subscription
from api.subscriptions.webhooks import SubscriptionEvents
from core.db import translate_errors
from core.errors import NotFound

__all__ = ["SubscriptionEvents", "Subscriptions"]
RUNNING = ("active", "trialing", "past_due")  # a subscription that can change plan or be cancelled


def plan_view(row: asyncpg.Record) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "name", "monthly_credits", "price_cents", "currency")}


def admin_plan_view(row: asyncpg.Record) -> dict[str, Any]:
    return {**plan_view(row), "stripe_price_id": row["stripe_price_id"], "active": row["active"],
            "position": row["position"]}  # fmt: skip


class Subscriptions:
    def __init__(
        self, pool: asyncpg.Pool, *, gateway: StripeGateway, ledger: CreditLedger, settings: ApiSettings
    ) -> None:
        self.pool = pool
        self.gateway = gateway
        self.settings = settings
        self.events = SubscriptionEvents(ledger)
        self.q = QUERIES

    # ------------------------------------------------------------------ plans
    async def plans(self, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.plans, include_inactive)
        return [admin_plan_view(r) if include_inactive else plan_view(r) for r in rows]

    async def put_plan(self, plan_id: str, body: dict[str, Any]) -> dict[str, Any]:
        async with translate_errors():
            row = await self.pool.fetchrow(
                self.q.put_plan, plan_id, body["name"], body["stripe_price_id"], body["monthly_credits"],
                body["price_cents"], body["currency"], body["active"], body["position"],
            )  # fmt: skip
        return admin_plan_view(row)

    async def _plan(self, conn: asyncpg.Connection, plan_id: str) -> asyncpg.Record:
        plan = await conn.fetchrow(self.q.plan, plan_id)
        if plan is None or not plan["active"]:
            raise NotFound("no such plan", details={"plan_id": plan_id})
        return plan

    # ------------------------------------------------------------------ checkout
    async def checkout(self, user_id: int, plan_id: str) -> dict[str, Any]:
        async with translate_errors(), self.pool.acquire() as conn:
            plan = await self._plan(conn, plan_id)
            current = await conn.fetchrow(self.q.current_of, user_id)
            if current is not None and current["live"] and current["status"] != "incomplete":
                raise AlreadySubscribed(
                    "you already have a subscription: change its plan instead",
                    details={"plan_id": current["plan_id"], "status": current["status"]},
                )
            customer_id = await conn.fetchval(self.q.customer_of, user_id)
            email = await conn.fetchval(self.q.user_email, user_id)
        if customer_id is None:
            params: dict[str, Any] = {"metadata": {"user_id": str(user_id)}}
            if email:
                params["email"] = email
            made = await self.gateway.create_customer(params, f"customer:{user_id}:{secrets.token_hex(8)}")
            async with translate_errors():
                await self.pool.execute(self.q.insert_customer, user_id, made)
                customer_id = await self.pool.fetchval(self.q.customer_of, user_id)  # a concurrent checkout's, if first
        meta = {"user_id": str(user_id), "plan_id": plan_id}
        session_id, url = await self.gateway.create_checkout(
            {
                "mode": "subscription",
                "line_items": [{"price": plan["stripe_price_id"], "quantity": 1}],
                "customer": customer_id,
                "client_reference_id": str(user_id),
                "metadata": meta,
                "subscription_data": {"metadata": meta},
                "success_url": self.settings.subscription_success_url,
                "cancel_url": self.settings.subscription_cancel_url,
            },
            f"subscription-checkout:{user_id}:{secrets.token_hex(8)}",
        )
        async with translate_errors():
            await self.pool.execute(self.q.insert_checkout, session_id, user_id, plan_id, url)
        return {"session_id": session_id, "checkout_url": url, "plan": plan_view(plan), "status": "open"}

    # ------------------------------------------------------------------ status
    async def status(self, user_id: int) -> dict[str, Any]:
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.current_of, user_id)
            plan = await conn.fetchrow(self.q.plan, row["plan_id"]) if row and row["plan_id"] else None
            invoices = await conn.fetch(self.q.invoices_of, user_id, 12)
        if row is None:
            return {"status": "none", "plan": None, "subscription_id": None, "current_period_end": None,
                    "cancel_at_period_end": False, "ended_at": None, "invoices": []}  # fmt: skip
        return {
            "status": row["status"],
            "plan": plan_view(plan) if plan else None,
            "subscription_id": row["stripe_subscription_id"],
            "current_period_end": _iso(row["current_period_end"]),
            "cancel_at_period_end": row["cancel_at_period_end"],
            "ended_at": _iso(row["ended_at"]),
            "invoices": [_invoice_view(i) for i in invoices],
        }

    # ------------------------------------------------------------------ changes
    async def _running(self, user_id: int) -> asyncpg.Record:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.current_of, user_id)
        if row is None:
            raise NoSubscription("you have no subscription")
        if row["status"] in ("canceled", "incomplete_expired"):
            ended = {"ended_at": _iso(row["ended_at"])}
            raise SubscriptionEnded("your subscription has ended: start a new one", details=ended)
        if row["status"] not in RUNNING:
            raise NoSubscription("your subscription is not running", details={"status": row["status"]})
        return row

    async def change(self, user_id: int, plan_id: str) -> dict[str, Any]:
        row = await self._running(user_id)
        async with translate_errors(), self.pool.acquire() as conn:
            plan = await self._plan(conn, plan_id)
        if row["plan_id"] == plan_id:
            raise SamePlan("you are on this plan already", details={"plan_id": plan_id})
        sub_id = row["stripe_subscription_id"]
        item_id = row["item_id"]
        if item_id is None:  # known from its checkout or an invoice only: ask Stripe for the item
            state = read_subscription(await self.gateway.subscription(sub_id))
            item_id = state.item_id if state else None
        params = {
            "items": [{"id": item_id, "price": plan["stripe_price_id"]}],
            "proration_behavior": "create_prorations",
            "metadata": {"plan_id": plan_id},
        }
        await self._modify(user_id, sub_id, params, f"change:{sub_id}:{plan_id}")
        return await self.status(user_id)

    async def cancel(self, user_id: int) -> dict[str, Any]:
        row = await self._running(user_id)
        if not row["cancel_at_period_end"]:
            sub_id = row["stripe_subscription_id"]
            await self._modify(user_id, sub_id, {"cancel_at_period_end": True}, f"cancel:{sub_id}")
        return await self.status(user_id)

    async def resume(self, user_id: int) -> dict[str, Any]:
        row = await self._running(user_id)
        if not row["cancel_at_period_end"]:
            raise NotCancelling("your subscription is not set to end")
        end = row["current_period_end"]
        if end is not None and end <= datetime.now(UTC):
            raise SubscriptionEnded("the period has ended: start a new subscription", details={"ended_at": _iso(end)})
        sub_id = row["stripe_subscription_id"]
        await self._modify(user_id, sub_id, {"cancel_at_period_end": False}, f"resume:{sub_id}")
        return await self.status(user_id)

    async def _modify(self, user_id: int, sub_id: str, params: dict[str, Any], key: str) -> None:
        answer = await self.gateway.update_subscription(sub_id, params, f"{key}:{secrets.token_hex(8)}")
        state = read_subscription(answer)
        if state is None:
            return  # the webhook event tells the state
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            # Stripe's answer is as new as every event it sent before the call: at least the row's state.
            row = await conn.fetchrow(self.q.subscription_for_update, sub_id)
            await _apply_state(conn, state, user_id, max(int(time.time()), int(row["state_at"]) if row else 0))


def _invoice_view(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "period_end": _iso(row["period_end"]), "created_at": _iso(row["created_at"])}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
