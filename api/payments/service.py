"""Checkout and the Stripe webhook: payment rows, relayer mints, credit grants, refunds, disputes.

A webhook event is handled once (``stripe_events`` keyed by the event id) and everything it
causes — the payment's status, the relayer's ``mint`` request or the credit grant, the
discount redemption, the reward code, a reversal or a flag — commits in that one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg
from prometheus_client import Counter

from api.accounts.service import Accounts
from api.credits.service import CreditLedger
from api.payments import QUERIES
from api.payments.claims import claim_if_linked, claim_on_link
from api.payments.discounts import Discounts, quote
from api.payments.events import event_cents, event_text
from api.payments.gateway import StripeGateway
from api.payments.problems import AccountFlagged
from api.settings import ApiSettings
from core.db import translate_errors
from core.errors import InvalidInput, NotFound
from core.queue import TxRequest, cancel_pending, enqueue, mint_key

log = logging.getLogger("api.payments")
# claim_on_link: the wallet-link hook (api/services.py); StripeGateway: the Stripe client other domains call.
__all__ = ["Payments", "StripeEventHook", "StripeGateway", "claim_on_link", "payment_ref"]
EVENTS = Counter("api_stripe_events_total", "Verified Stripe events handled", ["type", "outcome"])
COMPLETED = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
ENDED = {"checkout.session.expired": "expired", "checkout.session.async_payment_failed": "failed"}
REVERSIBLE = ("paid", "partially_refunded", "refunded", "disputed")
KNOWN = {*COMPLETED, *ENDED, "charge.refunded", "charge.dispute.created"}


class StripeEventHook(Protocol):
    """Another domain's share of the verified Stripe events (subscriptions), applied in the webhook's
    transaction after the event id is recorded: each event once, like the payment events."""

    kinds: frozenset[str]

    def handles(self, kind: str, obj: dict[str, Any]) -> bool: ...

    async def apply(self, conn: asyncpg.Connection, kind: str, created: int, obj: dict[str, Any]) -> str: ...


def payment_ref(session_id: str) -> str:
    """The bytes32 the Coin mint carries: derived from the Checkout Session, so a session mints once."""
    return "0x" + hashlib.sha256(b"stripe-checkout-session:" + session_id.encode()).hexdigest()


class Payments:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        gateway: StripeGateway,
        ledger: CreditLedger,
        discounts: Discounts,
        accounts: Accounts,
        settings: ApiSettings,
        hooks: Sequence[StripeEventHook] = (),
    ) -> None:
        self.pool = pool
        self.hooks = tuple(hooks)
        self.known = KNOWN.union(*(h.kinds for h in self.hooks))
        self.gateway = gateway
        self.ledger = ledger
        self.discounts = discounts
        self.accounts = accounts
        self.settings = settings
        self.q = QUERIES

    async def packages(self) -> list[dict[str, Any]]:
        async with translate_errors():
            return [dict(r) for r in await self.pool.fetch(self.q.packages)]

    # ------------------------------------------------------------------ checkout
    async def checkout(self, user_id: int, package_id: str, code: str | None, wallet: str | None) -> dict[str, Any]:
        user = await self.accounts.by_id(user_id)
        if user is None:
            raise NotFound("no such account")
        wallets = await self.accounts.wallets(user_id)
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(self.q.open_flags, user_id):
                raise AccountFlagged("this account is flagged after a refund or dispute; contact support")
            package = await conn.fetchrow(self.q.package, package_id)
            if package is None:
                raise NotFound("no such package", details={"package_id": package_id})
            receiver = None
            if package["kind"] == "coins" and (wallets or wallet):
                # Without a linked wallet the coins wait unclaimed for the first one (claims.py).
                receiver = wallet.lower() if wallet else wallets[0]
                if receiver not in wallets:
                    raise InvalidInput("the wallet is not linked to this account", details={"wallet": receiver})
            discount = await self.discounts.lock_for_purchase(conn, user_id, code, package["kind"]) if code else None
            priced = quote(package, discount)
            payment_id = await conn.fetchval(
                self.q.insert_payment, user_id, package_id, package["kind"], receiver, priced.amount, priced.bonus,
                priced.price_cents, priced.discount_cents, priced.charged_cents, package["currency"],
                discount["id"] if discount else None,
            )  # fmt: skip
            if discount is not None:
                await conn.execute(self.q.add_redemption, discount["id"])
                await conn.execute(self.q.insert_redemption, discount["id"], user_id, payment_id)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": package["currency"],
                        "unit_amount": priced.charged_cents,
                        "product_data": {"name": package["name"]},
                    },
                    "quantity": 1,
                }
            ],
            "client_reference_id": str(payment_id),
            "metadata": {"payment_id": str(payment_id), "package_id": package_id, "user_id": str(user_id)},
            "success_url": self.settings.checkout_success_url,
            "cancel_url": self.settings.checkout_cancel_url,
        }
        if user["email"]:
            params["customer_email"] = user["email"]
        try:
            # Unique per attempt (payment ids restart with a new database); the library retries with it.
            key = f"checkout:{payment_id}:{secrets.token_hex(8)}"
            session_id, url = await self.gateway.create_checkout(params, key)
        except Exception:
            async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
                await conn.execute(self.q.fail_payment, payment_id)
                await conn.execute(self.q.release_redemption, payment_id)
            raise
        ref = payment_ref(session_id)
        async with translate_errors():
            await self.pool.execute(self.q.attach_session, payment_id, session_id, ref, url)
        return {
            "payment_id": payment_id,
            "status": "pending",
            "session_id": session_id,
            "checkout_url": url,
            "payment_ref": ref,
            "package_id": package_id,
            "kind": package["kind"],
            "wallet": receiver,
            "currency": package["currency"],
            "discount_code": discount["code"] if discount else None,
            **priced.as_dict(),
        }

    # ------------------------------------------------------------------ webhook
    async def handle_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        event = self.gateway.verify(payload, signature)
        created = event.get("created")
        created = created if type(created) is int and 0 < created < 2**62 else 0
        outcome = await self._apply(event["id"][:255], event["type"][:255], event["data"]["object"], created)
        return {"received": True, "duplicate": outcome == "duplicate", "outcome": outcome}

    async def _dispatch(
        self, conn: asyncpg.Connection, event_id: str, kind: str, obj: dict[str, Any], created: int
    ) -> tuple[str, int | None]:
        for hook in self.hooks:
            if hook.handles(kind, obj):
                return await hook.apply(conn, kind, created, obj), None
        if kind in COMPLETED or kind in ENDED:
            session_id = event_text(obj, "id")
            payment = await conn.fetchrow(self.q.payment_by_session_for_update, session_id) if session_id else None
            if payment is None:
                return "unknown_session", None
            if kind in ENDED:
                return await self._end(conn, payment, ENDED[kind]), payment["id"]
            if obj.get("payment_status") not in ("paid", "no_payment_required"):
                return "awaiting_payment", payment["id"]
            total, currency = obj.get("amount_total"), obj.get("currency")
            # Anything but the expected integer (a string, a float, true, null, absent) in the expected
            # currency is a mismatch.
            if type(total) is not int or total != payment["charged_cents"] or currency != payment["currency"]:
                log.error(
                    "session %s paid %r %r, %s %s expected",
                    session_id, total, currency, payment["charged_cents"], payment["currency"],
                )  # fmt: skip
                return "amount_mismatch", payment["id"]
            return await self._fulfil(conn, payment, event_text(obj, "payment_intent")), payment["id"]
        if kind in ("charge.refunded", "charge.dispute.created"):
            intent = event_text(obj, "payment_intent")
            payment = await conn.fetchrow(self.q.payment_by_intent_for_update, intent) if intent else None
            if payment is None:
                return "unknown_payment", None
            if payment["status"] not in REVERSIBLE:
                return f"ignored_{payment['status']}", payment["id"]
            if kind == "charge.refunded":
                cents, reason = event_cents(obj, "amount_refunded"), "refund"
            else:
                cents, reason = event_cents(obj, "amount"), "dispute"
            return await self._reverse(conn, event_id, payment, reason, cents), payment["id"]
        return "ignored", None

    async def _fulfil(self, conn: asyncpg.Connection, payment: asyncpg.Record, intent: str | None) -> str:
        if payment["status"] != "pending":
            return f"already_{payment['status']}"
        await conn.execute(self.q.mark_paid, payment["id"], intent)
        await conn.execute(self.q.complete_redemption, payment["id"])
        total = int(payment["amount"]) + int(payment["bonus"])
        if payment["kind"] == "coins" and payment["wallet"] is None:
            await conn.execute(self.q.set_waiting, payment["id"])
            await claim_if_linked(conn, payment["user_id"])
        elif payment["kind"] == "coins":
            ref = payment["payment_ref"]
            mint = {"to": payment["wallet"], "amount": str(total), "payment_ref": ref}
            await enqueue(conn, TxRequest("mint", mint_key(ref), mint))
        else:
            await self.ledger.grant(
                conn, payment["user_id"], total, key=f"payment:{payment['id']}", kind="purchase",
                payment_id=payment["id"], memo=f"package {payment['package_id']}",
            )  # fmt: skip
        await self.discounts.issue_reward(conn, payment["user_id"], payment["id"])
        return "paid"

    async def _end(self, conn: asyncpg.Connection, payment: asyncpg.Record, status: str) -> str:
        if payment["status"] != "pending":
            return f"already_{payment['status']}"
        await conn.execute(self.q.mark_expired if status == "expired" else self.q.fail_payment, payment["id"])
        await conn.execute(self.q.release_redemption, payment["id"])
        return status

    async def _reverse(
        self, conn: asyncpg.Connection, event_id: str, payment: asyncpg.Record, reason: str, cents: int
    ) -> str:
        """The refund/dispute policy (README, Payments): credits reversed as far as available, else flagged;
        coins already minted or in flight cannot be clawed back: the account is flagged."""
        charged = int(payment["charged_cents"])
        if reason == "refund" and cents <= int(payment["refunded_cents"]):
            return "already_reversed"  # the same cumulative refund told again
        cents = min(max(cents, int(payment["refunded_cents"])), charged)
        full = cents >= charged
        status = "disputed" if reason == "dispute" else ("refunded" if full else "partially_refunded")
        flag: dict[str, Any] | None = (
            {"charged_cents": charged, "reversed_cents": cents} if reason == "dispute" else None
        )
        taken, unrecovered = 0, int(payment["credits_unrecovered"])
        if payment["kind"] == "credits":
            total = int(payment["amount"]) + int(payment["bonus"])
            target = total * cents // charged
            wanted = target - int(payment["credits_reversed"]) - unrecovered
            if wanted > 0:
                taken = await self.ledger.take_back(
                    conn, payment["user_id"], wanted, key=f"reversal:{event_id}", payment_id=payment["id"],
                    memo=f"{reason} of payment {payment['id']}",
                )  # fmt: skip
                if taken < wanted:
                    unrecovered += wanted - taken
                    flag = {**(flag or {}), "credits_unrecovered": str(wanted - taken), "credits_reversed": str(taken)}
        else:
            cancelled: int | None = None
            if payment["claim_status"] == "cancelled":
                cancelled = payment["id"]  # cancelled by an earlier reversal: nothing was ever minted
            elif payment["claim_status"] == "waiting" and (full or reason == "dispute"):
                await conn.execute(self.q.cancel_claim, payment["id"])  # never minted, nothing to claw back
                cancelled = payment["id"]
            elif payment["claim_status"] == "waiting":
                await claim_if_linked(conn, payment["user_id"])  # a partial refund: the rest still goes
            elif full:
                cancelled = await cancel_pending(conn, mint_key(payment["payment_ref"]), reason)
            if cancelled is None:
                flag = {**(flag or {}), "coins": str(int(payment["amount"]) + int(payment["bonus"])),
                        "wallet": payment["wallet"], "payment_ref": payment["payment_ref"]}  # fmt: skip
        await conn.execute(self.q.mark_reversed, payment["id"], status, cents, taken, unrecovered)
        if flag is not None:
            await conn.fetchval(self.q.insert_flag, payment["user_id"], payment["id"], reason, flag)
            return f"{status}_flagged"
        return status

    async def _apply(self, event_id: str, kind: str, obj: dict[str, Any], created: int = 0) -> str:
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(self.q.insert_event, event_id, kind) is None:
                return "duplicate"
            outcome, payment_id = await self._dispatch(conn, event_id, kind, obj, created)
            await conn.execute(self.q.finish_event, event_id, outcome, payment_id)
        log.info("stripe event %s %s: %s (payment %s)", event_id, kind, outcome, payment_id)
        EVENTS.labels(kind if kind in self.known else "other", outcome).inc()  # outcomes are a small fixed set
        return outcome

    # ------------------------------------------------------------------ reads
    async def payment(self, user_id: int, payment_id: int, chain_id: int) -> dict[str, Any]:
        """One payment; while it is pending, Stripe is asked about its session and a completed or
        expired session is applied as its webhook would be (a lost webhook costs nothing)."""
        async with translate_errors():
            session_id = await self.pool.fetchval(self.q.pending_session_of, payment_id, user_id)
        if session_id is not None:
            session = await self.gateway.checkout_session(session_id)
            if session.get("status") == "complete":
                await self._apply(f"sync:{session_id}:complete", "checkout.session.completed", session)
            elif session.get("status") == "expired":
                await self._apply(f"sync:{session_id}:expired", "checkout.session.expired", session)
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await self.history_page(conn, user_id, chain_id, payment_id + 1, 1)
        if not rows or rows[0]["id"] != payment_id:
            raise NotFound("no such payment", details={"payment_id": payment_id})
        return rows[0]

    async def history_page(
        self, conn: asyncpg.Connection, user_id: int, chain_id: int, before: int, limit: int
    ) -> list[dict[str, Any]]:
        rows = await conn.fetch(self.q.payments_page, user_id, chain_id, before, limit)
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()} for r in rows]

    async def unclaimed(self, user_id: int) -> dict[str, Any]:
        """Paid coins waiting for the account's first wallet."""
        async with translate_errors():
            rows = await self.pool.fetch(self.q.unclaimed_of, user_id)
        items = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()} for r in rows]
        return {"items": items, "total": str(sum(int(i["amount"]) for i in items))}

    async def flags(self, include_cleared: bool, before: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.flags_page, include_cleared, before, limit)
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()} for r in rows]

    async def clear_flag(self, flag_id: int, admin_id: int, note: str) -> dict[str, Any]:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.clear_flag, flag_id, admin_id, note)
        if row is None:
            raise NotFound("no open flag with this id", details={"flag_id": flag_id})
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row).items()}
