"""The credits ledger: double entry in Postgres, serialized per user by row locks.

Every mutation locks the user's two accounts (``available``, ``held``) in id order, then looks
up its idempotency key: a key seen before answers the stored result (no second effect), a key
reused for a different request is refused. Otherwise it writes one ``credit_transactions`` row
and its entries, which sum to zero (a deferred constraint trigger checks it at commit), and
moves the balances on the locked rows (``CHECK (balance >= 0)`` backs the explicit check).
Reservations (``reserve`` → ``commit`` or ``release``) move credits to ``held`` while a
long-running job runs; an expired hold is released by the user's next mutation.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from api.credits.prices import VIDEO_FEATURE, video_price
from core.db import Queries, translate_errors
from core.errors import Conflict, NotFound

# The price list reaches other domains through this module (the domains contract).
__all__ = ["QUERIES", "VIDEO_FEATURE", "CreditLedger", "InsufficientCredits", "video_price"]
Moves = list[tuple[int, int]]  # (account id, signed amount)


def _jsonable(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(row).items() if k != "expired"}


QUERIES = Queries(Path(__file__).with_name("queries.sql"))


class InsufficientCredits(Conflict):
    """The available credits do not cover the amount."""

    code = "insufficient_credits"


class _Locked:
    """A user's accounts, locked for this transaction, with their balances as they move."""

    def __init__(self, rows: list[asyncpg.Record], system: dict[str, int]) -> None:
        self.ids = {r["kind"]: r["id"] for r in rows}
        self.balance = {r["id"]: int(r["balance"]) for r in rows}
        self.system = system

    def id(self, kind: str) -> int:
        return self.ids[kind] if kind in self.ids else self.system[kind]

    def balances(self) -> dict[str, int]:
        return {kind: self.balance[acct] for kind, acct in self.ids.items()}


class CreditLedger:
    def __init__(self, pool: asyncpg.Pool, hold_ttl: int = 3600) -> None:
        self.pool = pool
        self.q = QUERIES
        self.hold_ttl = hold_ttl
        self._system: dict[str, int] = {}

    # ------------------------------------------------------------------ reads
    async def balance(self, user_id: int) -> dict[str, int]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.credit_balances, user_id)
        found = {r["kind"]: int(r["balance"]) for r in rows}
        return {"available": found.get("available", 0), "held": found.get("held", 0)}

    async def history(self, user_id: int, before: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.credit_history_page, user_id, before, limit)
        return [_jsonable(r) or {} for r in rows]

    async def usage(self, user_id: int, before: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.usage_page, user_id, before, limit)
        return [_jsonable(r) or {} for r in rows]

    # ------------------------------------------------------------------ mutations (own transaction)
    async def spend(
        self, user_id: int, amount: int, *, feature: str, reference: str | None, key: str
    ) -> dict[str, Any]:
        params = {"amount": amount, "feature": feature, "reference": reference}
        return await self._run(_Op(user_id, key, "spend", params), self._spend)

    async def reserve(
        self, user_id: int, amount: int, *, feature: str, reference: str | None, key: str, ttl: int | None = None
    ) -> dict[str, Any]:
        params = {"amount": amount, "feature": feature, "reference": reference, "ttl": ttl or self.hold_ttl}
        return await self._run(_Op(user_id, key, "reserve", params), self._reserve)

    async def commit(
        self, user_id: int, usage_id: int, *, amount: int | None, key: str, features: list[str] | None = None
    ) -> dict[str, Any]:
        """Charge a reservation; ``features``: only a usage of these may be settled (the client routes')."""
        params = {"usage_id": usage_id, "amount": amount, "features": features}
        return await self._run(_Op(user_id, key, "commit", params), self._settle)

    async def release(
        self, user_id: int, usage_id: int, *, key: str, features: list[str] | None = None
    ) -> dict[str, Any]:
        return await self._run(_Op(user_id, key, "release", {"usage_id": usage_id, "features": features}), self._settle)

    async def usage_row(self, user_id: int, usage_id: int) -> dict[str, Any] | None:
        async with translate_errors():
            return _jsonable(await self.pool.fetchrow(self.q.usage_row, usage_id, user_id))

    async def usage_by_feature(self, user_id: int) -> list[dict[str, Any]]:
        async with translate_errors():
            return [dict(r) for r in await self.pool.fetch(self.q.usage_by_feature, user_id)]

    async def reserve_in(
        self, conn: asyncpg.Connection, user_id: int, amount: int, *, feature: str, reference: str, key: str, ttl: int
    ) -> dict[str, Any]:
        """``reserve`` inside the caller's transaction (a generation job and its hold commit together)."""
        params = {"amount": amount, "feature": feature, "reference": reference, "ttl": ttl}
        return await self._in(conn, _Op(user_id, key, "reserve", params), self._reserve)

    async def settle_in(
        self, conn: asyncpg.Connection, user_id: int, usage_id: int, *, charge: bool, key: str
    ) -> dict[str, Any]:
        """Commit all of a reservation (``charge``) or release it, inside the caller's transaction."""
        op = _Op(user_id, key, "commit" if charge else "release", {"usage_id": usage_id, "amount": None})
        return await self._in(conn, op, self._settle)

    async def admin_grant(self, user_id: int, amount: int, *, key: str, memo: str) -> dict[str, Any]:
        """An admin's grant (its reason in the memo); an unknown user is a 404."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(self.q.user_exists, user_id):
                raise NotFound("no such user", details={"user_id": user_id})
            return await self.grant(conn, user_id, amount, key=f"admin:{key}", kind="grant", memo=memo)

    # ------------------------------------------------------------------ mutations inside a caller's transaction
    async def grant(
        self,
        conn: asyncpg.Connection,
        user_id: int,
        amount: int,
        *,
        key: str,
        kind: str = "grant",
        payment_id: int | None = None,
        memo: str | None = None,
    ) -> dict[str, Any]:
        """Issue ``amount`` credits to the user (a purchase or a grant)."""
        op = _Op(user_id, key, kind, {"amount": amount, "payment_id": payment_id}, payment_id=payment_id, memo=memo)
        acc, replay = await self._begin(conn, op)
        if replay is not None:
            return replay
        return await self._post(conn, acc, op, amount, [(acc.id("issued"), -amount), (acc.id("available"), amount)])

    async def take_back(
        self, conn: asyncpg.Connection, user_id: int, wanted: int, *, key: str, payment_id: int, memo: str
    ) -> int:
        """Reverse up to ``wanted`` available credits (never below zero); returns how many were taken."""
        params = {"wanted": wanted, "payment_id": payment_id}
        op = _Op(user_id, key, "reversal", params, payment_id=payment_id, memo=memo)
        acc, replay = await self._begin(conn, op)
        if replay is not None:
            return int(replay["amount"])
        taken = min(wanted, acc.balance[acc.id("available")])
        if taken > 0:
            await self._post(conn, acc, op, taken, [(acc.id("available"), -taken), (acc.id("issued"), taken)])
        return taken

    # ------------------------------------------------------------------ internals
    async def _in(
        self,
        conn: asyncpg.Connection,
        op: _Op,
        body: Callable[[asyncpg.Connection, _Locked, _Op], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        acc, replay = await self._begin(conn, op)
        return replay if replay is not None else await body(conn, acc, op)

    async def _run(
        self, op: _Op, body: Callable[[asyncpg.Connection, _Locked, _Op], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            acc, replay = await self._begin(conn, op)
            if replay is not None:
                return replay
            return await body(conn, acc, op)

    async def _begin(self, conn: asyncpg.Connection, op: _Op) -> tuple[_Locked, dict[str, Any] | None]:
        """Lock the user's accounts; a known key answers its first result; expired holds are released."""
        if not self._system:
            self._system = {r["kind"]: r["id"] for r in await conn.fetch(self.q.system_accounts)}
        rows = await conn.fetch(self.q.lock_credit_accounts, op.user_id)
        if len(rows) < 2:  # the user's first mutation
            await conn.execute(self.q.ensure_credit_accounts, op.user_id)
            rows = await conn.fetch(self.q.lock_credit_accounts, op.user_id)
        acc = _Locked(rows, self._system)
        seen = await conn.fetchrow(self.q.transaction_by_key, op.user_id, op.key)
        if seen is not None:
            if seen["kind"] != op.kind or seen["fingerprint"] != op.fingerprint:
                raise Conflict("this idempotency key was used for another request", details={"idempotency_key": op.key})
            return acc, {**seen["result"], "replayed": True}
        expired = await conn.fetch(self.q.expired_holds, op.user_id) if acc.balance[acc.id("held")] else []
        for row in expired:
            expiry = _Op(op.user_id, f"expire:{row['id']}", "release", {"usage_id": row["id"]}, memo="hold expired")
            await self._settle(conn, acc, expiry)
        return acc, None

    async def _post(
        self,
        conn: asyncpg.Connection,
        acc: _Locked,
        op: _Op,
        amount: int,
        moves: Moves,
        *,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write the transaction and its (balanced) entries; move the user's balances."""
        moves = [(a, x) for a, x in moves if x != 0]
        after: list[int | None] = []
        for account, delta in moves:
            if account in acc.balance:
                acc.balance[account] += delta
                if acc.balance[account] < 0:
                    raise InsufficientCredits("not enough credits", details={"needed": -delta})
                after.append(acc.balance[account])
            else:
                after.append(None)
        created_at = datetime.now(UTC)
        result = {
            "kind": op.kind,
            "amount": amount,
            "balance": acc.balances(),
            "usage": usage,
            "replayed": False,
            "created_at": created_at.isoformat(),
        }
        stored = await conn.fetchval(
            self.q.insert_transaction,
            op.user_id,
            op.key,
            op.kind,
            amount,
            op.fingerprint,
            usage["id"] if usage else None,
            op.payment_id,
            op.memo,
            result,
            created_at,
        )
        await conn.execute(
            self.q.post_entries, stored["transaction_id"], [a for a, _ in moves], [x for _, x in moves], after
        )
        return dict(stored)

    async def _spend(self, conn: asyncpg.Connection, acc: _Locked, op: _Op) -> dict[str, Any]:
        amount, feature, reference = op.params["amount"], op.params["feature"], op.params["reference"]
        self._ensure(acc, amount)
        usage = await conn.fetchrow(
            self.q.insert_usage, op.user_id, feature, reference, amount, amount, "committed", None
        )
        moves = [(acc.id("available"), -amount), (acc.id("consumed"), amount)]
        return await self._post(conn, acc, op, amount, moves, usage=_jsonable(usage))

    async def _reserve(self, conn: asyncpg.Connection, acc: _Locked, op: _Op) -> dict[str, Any]:
        amount, feature, reference = op.params["amount"], op.params["feature"], op.params["reference"]
        self._ensure(acc, amount)
        usage = await conn.fetchrow(
            self.q.insert_usage, op.user_id, feature, reference, amount, 0, "held", float(op.params["ttl"])
        )
        moves = [(acc.id("available"), -amount), (acc.id("held"), amount)]
        return await self._post(conn, acc, op, amount, moves, usage=_jsonable(usage))

    async def _settle(self, conn: asyncpg.Connection, acc: _Locked, op: _Op) -> dict[str, Any]:
        """Commit (charge ``amount`` <= reserved, the rest goes back) or release a held reservation."""
        usage_id, release = op.params["usage_id"], op.kind == "release"
        usage = await conn.fetchrow(self.q.usage_for_update, usage_id, op.user_id)
        features = op.params.get("features")
        if usage is None or (features is not None and usage["feature"] not in features):
            raise NotFound("no such reservation", details={"usage_id": usage_id})
        if usage["status"] != "held":
            raise Conflict(f"this reservation is already {usage['status']}", details={"usage_id": usage_id})
        reserved = int(usage["reserved"])
        amount = op.params.get("amount")
        charged = 0 if release else (reserved if amount is None else amount)
        if charged > reserved:
            raise Conflict("cannot commit more than was reserved", details={"reserved": reserved})
        settled = await conn.fetchrow(self.q.settle_usage, usage_id, "released" if release else "committed", charged)
        moves = [(acc.id("held"), -reserved), (acc.id("consumed"), charged), (acc.id("available"), reserved - charged)]
        return await self._post(conn, acc, op, reserved if release else charged, moves, usage=_jsonable(settled))

    @staticmethod
    def _ensure(acc: _Locked, amount: int) -> None:
        available = acc.balance[acc.id("available")]
        if available < amount:
            raise InsufficientCredits("not enough credits", details={"needed": amount, "available": available})


@dataclass(frozen=True)
class _Op:
    """One mutation: whose, its idempotency key, its kind and parameters (their fingerprint)."""

    user_id: int
    key: str
    kind: str
    params: dict[str, Any]
    payment_id: int | None = None
    memo: str | None = None

    @property
    def fingerprint(self) -> str:
        return _fingerprint(self.kind, self.params)


def _fingerprint(kind: str, params: dict[str, Any]) -> str:
    return kind + ":" + json.dumps(params, sort_keys=True, separators=(",", ":"))
