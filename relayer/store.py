"""The relayer's database side: the request queue and the persisted nonces."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg

from core.db import Queries, translate_errors
from core.db.chains import register_chain
from core.errors import InvalidInput

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
MAX_UINT256 = 2**256 - 1
MAX_ACCRUALS = 512  # Engagement.MAX_ACCRUALS
MAX_BATCH = 256  # TipRouter.MAX_BATCH


def _address(value: object, field: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise InvalidInput(f"{field} must be a 0x-prefixed 20-byte address")
    return value.lower()


def _uint(value: object, field: str, *, minimum: int = 0, maximum: int = MAX_UINT256) -> str:
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be an integer")
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be an integer") from None
    if not minimum <= number <= maximum:
        raise InvalidInput(f"{field} must be in {minimum}..{maximum}")
    return str(number)


def _signature(value: object, field: str) -> str:
    if not isinstance(value, str) or not _SIGNATURE.match(value):
        raise InvalidInput(f"{field} must be a 0x-prefixed 65-byte signature")
    return value.lower()


def _list(value: object, field: str, maximum: int) -> list[Any]:
    if not isinstance(value, list) or not 0 < len(value) <= maximum:
        raise InvalidInput(f"{field} must be a list of 1..{maximum} items")
    return value


def validate_mint(payload: dict[str, Any]) -> dict[str, Any]:
    to, ref = _address(payload.get("to"), "mint.to"), payload.get("payment_ref")
    amount = _uint(payload.get("amount"), "mint.amount", minimum=1)
    if not isinstance(ref, str) or not _BYTES32.match(ref) or int(ref, 16) == 0:
        raise InvalidInput("mint.payment_ref must be a non-zero 0x-prefixed 32-byte hex string")
    return {"to": to, "amount": amount, "payment_ref": ref.lower()}


def validate_accrue(payload: dict[str, Any]) -> dict[str, Any]:
    accounts = _list(payload.get("accounts"), "accrue.accounts", MAX_ACCRUALS)
    amounts = _list(payload.get("amounts"), "accrue.amounts", MAX_ACCRUALS)
    if len(accounts) != len(amounts):
        raise InvalidInput("accrue.accounts and accrue.amounts must have the same length")
    return {
        "epoch": _uint(payload.get("epoch"), "accrue.epoch"),
        "accounts": [_address(a, "accrue.accounts[]") for a in accounts],
        "amounts": [_uint(a, "accrue.amounts[]") for a in amounts],
    }


def validate_end_auction(payload: dict[str, Any]) -> dict[str, Any]:
    return {"auction_id": _uint(payload.get("auction_id"), "end_auction.auction_id")}


def _intent(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInput("settle.intents[] must be objects")
    intent = {f: _address(value.get(f), f"intent.{f}") for f in ("from", "to", "token")}
    intent["amount"] = _uint(value.get("amount"), "intent.amount", minimum=1)
    intent["kind"] = _uint(value.get("kind"), "intent.kind", maximum=255)
    intent["nonce"] = _uint(value.get("nonce"), "intent.nonce")
    intent["deadline"] = _uint(value.get("deadline"), "intent.deadline")
    return intent


def validate_settle(payload: dict[str, Any]) -> dict[str, Any]:
    intents = _list(payload.get("intents"), "settle.intents", MAX_BATCH)
    signatures = _list(payload.get("signatures"), "settle.signatures", MAX_BATCH)
    if len(intents) != len(signatures):
        raise InvalidInput("settle.intents and settle.signatures must have the same length")
    return {
        "intents": [_intent(i) for i in intents],
        "signatures": [_signature(s, "settle.signatures[]") for s in signatures],
    }


def validate_burn_pass(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "token_id": _uint(payload.get("token_id"), "burn_pass.token_id"),
        "holder": _address(payload.get("holder"), "burn_pass.holder"),
        "deadline": _uint(payload.get("deadline"), "burn_pass.deadline"),
        "signature": _signature(payload.get("signature"), "burn_pass.signature"),
    }


def validate_withdraw_for(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "creator": _address(payload.get("creator"), "withdraw_for.creator"),
        "token": _address(payload.get("token"), "withdraw_for.token"),
        "amount": _uint(payload.get("amount"), "withdraw_for.amount", minimum=1),
        "nonce": _uint(payload.get("nonce"), "withdraw_for.nonce"),
        "deadline": _uint(payload.get("deadline"), "withdraw_for.deadline"),
        "signature": _signature(payload.get("signature"), "withdraw_for.signature"),
    }


VALIDATORS = {
    "mint": validate_mint,
    "accrue": validate_accrue,
    "end_auction": validate_end_auction,
    "settle": validate_settle,
    "burn_pass": validate_burn_pass,
    "withdraw_for": validate_withdraw_for,
}


class Store:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.q = QUERIES

    async def enqueue(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> int:
        """Insert a request once per idempotency key; returns its id (existing or new)."""
        request_id, _ = await self.enqueue_once(kind, idempotency_key, payload)
        return request_id

    async def enqueue_once(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> tuple[int, bool]:
        """Insert a request once per idempotency key; returns its id and whether it is new."""
        validator = VALIDATORS.get(kind)
        if validator is None:
            raise InvalidInput(f"unknown request kind {kind!r}")
        payload = validator(payload)
        async with translate_errors(), self.pool.acquire() as conn:
            new_id = await conn.fetchval(self.q.enqueue, kind, idempotency_key, payload)
            if new_id is not None:
                return int(new_id), True
            row = await conn.fetchrow(self.q.get_by_key, idempotency_key)
            if row["kind"] != kind or row["payload"] != payload:
                raise InvalidInput(f"idempotency key {idempotency_key!r} was used for another request")
            return int(row["id"]), False

    async def get(self, request_id: int) -> asyncpg.Record | None:
        return await self.pool.fetchrow(self.q.get, request_id)

    async def list(self, status: str | None, limit: int = 50) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(self.q.list_requests, status, limit))

    async def status_counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in await self.pool.fetch(self.q.status_counts)}

    async def queue_depth(self) -> dict[tuple[str, str], int]:
        return {(r["kind"], r["status"]): r["n"] for r in await self.pool.fetch(self.q.queue_depth)}

    async def cancel(self, request_id: int) -> str:
        """``cancelled`` (it was pending), ``cancel_requested`` (submitted: the relayer replaces its tx with a
        zero-value self-transaction at the same nonce), or ``not_cancellable`` / ``not_found``."""
        if await self.pool.fetchval(self.q.cancel, request_id) is not None:
            return "cancelled"
        if await self.pool.fetchval(self.q.request_cancel, request_id) is not None:
            return "cancel_requested"
        return "not_found" if await self.get(request_id) is None else "not_cancellable"

    async def retry(self, request_id: int) -> bool:
        return await self.pool.fetchval(self.q.retry, request_id) is not None

    async def prepare(self, chain_id: int, genesis_hash: str) -> bool:
        """On a reset dev chain: finished requests stay as the old chain's history (never replayed), the
        nonces are forgotten, and what was in flight is requeued to be signed afresh on the new chain."""
        async with self.pool.acquire() as conn, conn.transaction():
            reset = await register_chain(conn, "relayer", chain_id, genesis_hash)
            if reset:
                await conn.execute(self.q.reset_nonces, chain_id)
                await conn.execute(self.q.requeue_all_submitted)
                await conn.execute(self.q.retire_finished)
            return reset
