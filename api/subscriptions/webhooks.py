"""The subscription events of the Stripe webhook (``api/payments``' verified route, each event id once).

- ``checkout.session.completed`` (mode ``subscription``): the checkout is complete; the subscription
  row exists from then on (if no event made it before).
- ``customer.subscription.created/updated/deleted``: the subscription's state, unless the row holds a
  newer one (events arrive out of order; the event's ``created`` orders them).
- ``invoice.paid``: the plan's monthly credits, granted once per invoice id (the
  ``subscription_invoices`` row and the ledger's idempotency key), to the user the subscription row,
  the Stripe Customer or the subscription metadata (snapshotted on the invoice) names — so an
  invoice paid before any other event of its subscription still grants once, to the right user.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from api.credits.service import CreditLedger
from api.subscriptions import QUERIES
from api.subscriptions.state import apply_state, metadata, plan_for, read_subscription, text, timestamp, user_for

log = logging.getLogger("api.subscriptions")
SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.expired",
        "checkout.session.async_payment_failed",
    }
)
SUBSCRIPTION_EVENTS = frozenset(
    {"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"}
)
GRANTING = frozenset({"subscription_create", "subscription_cycle"})  # invoices that open a period


def _invoice_subscription(invoice: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The invoice's subscription and its metadata snapshot (``parent.subscription_details``; before API
    version 2025-03-31 ``subscription`` and ``subscription_details`` sat on the invoice)."""
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if not isinstance(details, dict):
        details = invoice.get("subscription_details") if isinstance(invoice.get("subscription_details"), dict) else {}
        return text(invoice, "subscription") or text(details, "subscription"), metadata(details)
    return text(details, "subscription"), metadata(details)


def _period_line(invoice: dict[str, Any]) -> dict[str, Any]:
    """The line of the period's plan (not a proration): its price names the plan."""
    lines = invoice.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    for line in data if isinstance(data, list) else []:
        if not isinstance(line, dict):
            continue
        parent = line.get("parent")
        details = parent.get("subscription_item_details") if isinstance(parent, dict) else None
        if not (isinstance(details, dict) and details.get("proration") is True) and line.get("proration") is not True:
            return line
    return {}


def _line_price(line: dict[str, Any]) -> str | None:
    pricing = line.get("pricing")
    details = pricing.get("price_details") if isinstance(pricing, dict) else None
    return text(details, "price") if isinstance(details, dict) else text(line, "price")


class SubscriptionEvents:
    """The ``StripeEventHook`` of subscriptions (``api.payments.service``)."""

    kinds = SESSION_EVENTS | SUBSCRIPTION_EVENTS | {"invoice.paid"}

    def __init__(self, ledger: CreditLedger) -> None:
        self.ledger = ledger
        self.q = QUERIES

    def handles(self, kind: str, obj: dict[str, Any]) -> bool:
        if kind in SESSION_EVENTS:
            return obj.get("mode") == "subscription"
        return kind in SUBSCRIPTION_EVENTS or kind == "invoice.paid"

    async def apply(self, conn: asyncpg.Connection, kind: str, created: int, obj: dict[str, Any]) -> str:
        if kind in SESSION_EVENTS:
            return await self._session(conn, kind, obj)
        if kind in SUBSCRIPTION_EVENTS:
            return await self._subscription(conn, kind, created, obj)
        return await self._invoice_paid(conn, obj)

    async def _session(self, conn: asyncpg.Connection, kind: str, session: dict[str, Any]) -> str:
        session_id = text(session, "id")
        checkout = await conn.fetchrow(self.q.checkout_for_update, session_id) if session_id else None
        if checkout is None:
            return "unknown_session"
        if kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
            await conn.execute(self.q.end_checkout, session_id, "expired")
            return "expired"
        sub_id, customer_id = text(session, "subscription"), text(session, "customer")
        if sub_id is None or session.get("status") != "complete":
            return "awaiting_payment"
        await conn.execute(self.q.end_checkout, session_id, "complete")
        if customer_id is not None:
            await conn.execute(self.q.insert_customer, checkout["user_id"], customer_id)
        paid = session.get("payment_status") in ("paid", "no_payment_required")
        await conn.execute(
            self.q.insert_subscription, sub_id, checkout["user_id"], customer_id, checkout["plan_id"],
            "active" if paid else "incomplete", None,
        )  # fmt: skip
        return "subscription_started"

    async def _subscription(self, conn: asyncpg.Connection, kind: str, created: int, sub: dict[str, Any]) -> str:
        state = read_subscription(sub)
        if state is None:
            return "malformed"
        row = await conn.fetchrow(self.q.subscription_for_update, state.subscription_id)
        user_id = row["user_id"] if row else await user_for(conn, state.customer_id, state.metadata)
        if user_id is None:
            log.warning("subscription %s of an unknown customer", state.subscription_id)
            return "unknown_customer"
        if kind == "customer.subscription.deleted" and state.status != "canceled":
            return "malformed"
        status = await apply_state(conn, state, user_id, created)
        return "stale" if status is None else f"subscription_{status}"

    async def _invoice_paid(self, conn: asyncpg.Connection, invoice: dict[str, Any]) -> str:
        invoice_id = text(invoice, "id")
        sub_id, meta = _invoice_subscription(invoice)
        if invoice_id is None or sub_id is None:
            return "not_a_subscription"
        if invoice.get("status") != "paid":
            return "awaiting_payment"
        if invoice.get("billing_reason") not in GRANTING:
            return "no_grant"  # a proration invoice of a plan change: the plan's credits come per period
        line = _period_line(invoice)
        plan = await plan_for(conn, _line_price(line), meta)
        if plan is None:
            log.error("invoice %s of subscription %s names no known plan", invoice_id, sub_id)
            return "unknown_plan"
        row = await conn.fetchrow(self.q.subscription_for_update, sub_id)
        user_id = row["user_id"] if row else await user_for(conn, text(invoice, "customer"), meta)
        if user_id is None:
            log.error("invoice %s of subscription %s names no known user", invoice_id, sub_id)
            return "unknown_customer"
        period = line.get("period") if isinstance(line.get("period"), dict) else {}
        starts, ends = timestamp(period, "start"), timestamp(period, "end")
        if row is not None and row["status"] == "canceled" and row["ended_at"] and starts and starts >= row["ended_at"]:
            return "ignored_canceled"  # a period opened after the subscription ended
        amount = invoice.get("amount_paid")
        recorded = await conn.fetchval(
            self.q.insert_invoice, invoice_id, user_id, sub_id, plan["id"], invoice.get("billing_reason"),
            int(plan["monthly_credits"]), amount if type(amount) is int and 0 <= amount < 2**62 else None,
            text(invoice, "currency"), ends,
        )  # fmt: skip
        if recorded is None:
            return "already_granted"
        await self.ledger.grant(
            conn, user_id, int(plan["monthly_credits"]), key=f"subscription-invoice:{invoice_id}",
            kind="subscription", memo=f"plan {plan['id']}, invoice {invoice_id}",
        )  # fmt: skip
        if row is None:  # heard of before its subscription's own events: known from now on
            customer_id = text(invoice, "customer")
            if customer_id is not None:
                await conn.execute(self.q.insert_customer, user_id, customer_id)
            await conn.execute(self.q.insert_subscription, sub_id, user_id, customer_id, plan["id"], "active", ends)
        return "granted"
