"""A Stripe Subscription (from an event or an API answer) read into the row it updates, and whose it is.

Only Stripe-signed events and Stripe's own answers reach here, but their fields are still read
defensively: a value of the wrong shape is absent, never coerced. The user is the one the row
already names, else the Stripe Customer's (created by this API for the user), else the
``user_id`` metadata this API set on the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.subscriptions import QUERIES

STATUSES = frozenset(
    {"incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"}
)


def text(obj: Any, field: str) -> str | None:
    value = obj.get(field) if isinstance(obj, dict) else None
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def timestamp(obj: Any, field: str) -> datetime | None:
    value = obj.get(field) if isinstance(obj, dict) else None
    if type(value) is not int or not 0 < value < 2**33:
        return None
    return datetime.fromtimestamp(value, UTC)


def metadata(obj: Any) -> dict[str, str]:
    found = obj.get("metadata") if isinstance(obj, dict) else None
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def first_item(sub: dict[str, Any]) -> dict[str, Any]:
    items = sub.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}


@dataclass(frozen=True)
class SubscriptionState:
    subscription_id: str
    customer_id: str | None
    status: str
    item_id: str | None
    price_id: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    ended_at: datetime | None
    metadata: dict[str, str]


def read_subscription(sub: dict[str, Any]) -> SubscriptionState | None:
    sub_id, status = text(sub, "id"), sub.get("status")
    if sub_id is None or status not in STATUSES:
        return None
    item = first_item(sub)
    return SubscriptionState(
        subscription_id=sub_id,
        customer_id=text(sub, "customer"),
        status=str(status),
        item_id=text(item, "id"),
        price_id=text(item, "price"),
        # current_period_end lives on the items since API version 2025-03-31; older versions had it here.
        current_period_end=timestamp(item, "current_period_end") or timestamp(sub, "current_period_end"),
        cancel_at_period_end=sub.get("cancel_at_period_end") is True,
        ended_at=timestamp(sub, "ended_at"),
        metadata=metadata(sub),
    )


async def user_for(conn: asyncpg.Connection, customer_id: str | None, meta: dict[str, str]) -> int | None:
    """The user of a customer this API created, else of the ``user_id`` metadata this API set."""
    if customer_id is not None:
        user_id = await conn.fetchval(QUERIES.user_of_customer, customer_id)
        if user_id is not None:
            return int(user_id)
    raw = meta.get("user_id", "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 18 and await conn.fetchval(QUERIES.user_exists, int(raw)):
        return int(raw)
    return None


async def plan_for(conn: asyncpg.Connection, price_id: str | None, meta: dict[str, str]) -> asyncpg.Record | None:
    """The plan of a Stripe price (its plan row, active or not), else the ``plan_id`` metadata's."""
    if price_id is not None:
        plan = await conn.fetchrow(QUERIES.plan_by_price, price_id)
        if plan is not None:
            return plan
    plan_id = meta.get("plan_id")
    return await conn.fetchrow(QUERIES.plan, plan_id) if plan_id and len(plan_id) <= 64 else None


async def apply_state(conn: asyncpg.Connection, state: SubscriptionState, user_id: int, at: int) -> str | None:
    """Write ``state`` (as of ``at``, unix seconds) unless the row holds newer; its status, or None if stale."""
    plan = await plan_for(conn, state.price_id, state.metadata)
    status: str | None = await conn.fetchval(
        QUERIES.apply_subscription, state.subscription_id, user_id, state.customer_id,
        plan["id"] if plan else None, state.item_id, state.status, state.current_period_end,
        state.cancel_at_period_end, state.ended_at, at,
    )  # fmt: skip
    return status
