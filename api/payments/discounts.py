"""Discount codes: percentage off or bonus percent of coins/credits, a validity window, and
redemption limits in total and per user. Checkout takes the code's row lock, so concurrent
purchases cannot exceed either limit (pending checkouts hold their slot until they expire)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from api.payments import QUERIES
from api.payments.problems import InvalidDiscount
from core.db import translate_errors

REWARD_PERCENT_OFF = 10
REWARD_VALID_DAYS = 30


@dataclass(frozen=True)
class Quote:
    price_cents: int
    discount_cents: int
    charged_cents: int
    amount: int
    bonus: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "price_cents": self.price_cents,
            "discount_cents": self.discount_cents,
            "charged_cents": self.charged_cents,
            "amount": str(self.amount),
            "bonus": str(self.bonus),
        }


def quote(package: asyncpg.Record, code: asyncpg.Record | None) -> Quote:
    price, amount = int(package["price_cents"]), int(package["amount"])
    discount = bonus = 0
    if code is not None and code["kind"] == "percent_off":
        discount = price * int(code["percent"]) // 100
    elif code is not None:
        bonus = amount * int(code["percent"]) // 100
    return Quote(price, discount, price - discount, amount, bonus)


def check(code: asyncpg.Record | None, user_id: int, package_kind: str, used_by_user: int) -> asyncpg.Record:
    """The code if this user may use it on a package of this kind now, else :class:`InvalidDiscount`."""

    def refuse(reason: str, message: str) -> InvalidDiscount:
        return InvalidDiscount(message, details={"reason": reason})

    if code is None or not code["active"]:
        raise refuse("not_found", "no such discount code")
    now = datetime.now(UTC)
    if code["owner_user_id"] is not None and code["owner_user_id"] != user_id:
        raise refuse("not_found", "no such discount code")  # someone else's reward code: not revealed
    if code["valid_from"] > now:
        raise refuse("not_started", "this code is not valid yet")
    if code["valid_until"] is not None and code["valid_until"] <= now:
        raise refuse("expired", "this code has expired")
    if code["package_kind"] is not None and code["package_kind"] != package_kind:
        raise refuse("wrong_package", f"this code applies to {code['package_kind']} packages only")
    if code["max_redemptions"] is not None and code["redemptions"] >= code["max_redemptions"]:
        raise refuse("exhausted", "this code has been fully redeemed")
    if used_by_user >= code["max_per_user"]:
        raise refuse("already_used", "you have already used this code")
    return code


def code_dict(row: asyncpg.Record) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row["id"],
        "code": row["code"],
        "kind": row["kind"],
        "percent": row["percent"],
        "package_kind": row["package_kind"],
        "valid_from": iso(row["valid_from"]),
        "valid_until": iso(row["valid_until"]),
        "max_redemptions": row["max_redemptions"],
        "max_per_user": row["max_per_user"],
        "redemptions": row["redemptions"],
        "owner_user_id": row["owner_user_id"],
        "active": row["active"],
        "created_at": iso(row["created_at"]),
    }


class Discounts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.q = QUERIES

    async def validate(self, user_id: int, code: str, package_id: str) -> dict[str, Any]:
        async with translate_errors(), self.pool.acquire() as conn:
            package = await conn.fetchrow(self.q.package, package_id)
            if package is None:
                raise InvalidDiscount("no such package", details={"reason": "unknown_package"})
            row = await conn.fetchrow(self.q.code_by_name, code.upper())
            used = await conn.fetchval(self.q.user_redemptions, row["id"], user_id) if row else 0
            row = check(row, user_id, package["kind"], int(used))
        return {"code": code_dict(row), "package_id": package_id, **quote(package, row).as_dict()}

    async def lock_for_purchase(
        self, conn: asyncpg.Connection, user_id: int, code: str, package_kind: str
    ) -> asyncpg.Record:
        """Inside the checkout transaction: the code, locked and checked against its limits."""
        row = await conn.fetchrow(self.q.code_for_update, code.upper())
        used = await conn.fetchval(self.q.user_redemptions, row["id"], user_id) if row else 0
        return check(row, user_id, package_kind, int(used))

    async def create(self, created_by: int | None, **fields: Any) -> dict[str, Any]:
        async with translate_errors():
            row = await self.pool.fetchrow(
                self.q.insert_code,
                fields["code"].upper(),
                fields["kind"],
                fields["percent"],
                fields.get("package_kind"),
                fields.get("valid_from"),
                fields.get("valid_until"),
                fields.get("max_redemptions"),
                fields.get("max_per_user", 1),
                None,
                None,
                created_by,
            )
        return code_dict(row)

    async def issue_reward(self, conn: asyncpg.Connection, user_id: int, payment_id: int) -> None:
        """A single-use code for the buyer after a completed purchase (once per payment)."""
        await conn.fetchrow(
            self.q.insert_code,
            "R" + secrets.token_hex(6).upper(),
            "percent_off",
            REWARD_PERCENT_OFF,
            None,
            None,
            datetime.now(UTC) + timedelta(days=REWARD_VALID_DAYS),
            1,
            1,
            user_id,
            payment_id,
            None,
        )

    async def codes_of(self, user_id: int, before: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.codes_of_owner, user_id, before, limit)
        return [code_dict(r) for r in rows]
