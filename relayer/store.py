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
MAX_UINT256 = 2**256 - 1


def validate_mint(payload: dict[str, Any]) -> dict[str, Any]:
    to, amount, ref = payload.get("to"), payload.get("amount"), payload.get("payment_ref")
    if not isinstance(to, str) or not _ADDRESS.match(to):
        raise InvalidInput("mint.to must be a 0x-prefixed 20-byte address")
    try:
        value = int(str(amount))
    except ValueError:
        raise InvalidInput("mint.amount must be an integer") from None
    if not 0 < value <= MAX_UINT256:
        raise InvalidInput("mint.amount must be in 1..2**256-1")
    if not isinstance(ref, str) or not _BYTES32.match(ref) or int(ref, 16) == 0:
        raise InvalidInput("mint.payment_ref must be a non-zero 0x-prefixed 32-byte hex string")
    return {"to": to.lower(), "amount": str(value), "payment_ref": ref.lower()}


VALIDATORS = {"mint": validate_mint}


class Store:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.q = QUERIES

    async def enqueue(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> int:
        """Insert a request once per idempotency key; returns its id (existing or new)."""
        validator = VALIDATORS.get(kind)
        if validator is None:
            raise InvalidInput(f"unknown request kind {kind!r}")
        payload = validator(payload)
        async with translate_errors(), self.pool.acquire() as conn:
            new_id = await conn.fetchval(self.q.enqueue, kind, idempotency_key, payload)
            if new_id is not None:
                return int(new_id)
            row = await conn.fetchrow(self.q.get_by_key, idempotency_key)
            if row["kind"] != kind or row["payload"] != payload:
                raise InvalidInput(f"idempotency key {idempotency_key!r} was used for another request")
            return int(row["id"])

    async def get(self, request_id: int) -> asyncpg.Record | None:
        return await self.pool.fetchrow(self.q.get, request_id)

    async def list(self, status: str | None, limit: int = 50) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(self.q.list_requests, status, limit))

    async def status_counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in await self.pool.fetch(self.q.status_counts)}

    async def queue_depth(self) -> dict[tuple[str, str], int]:
        return {(r["kind"], r["status"]): r["n"] for r in await self.pool.fetch(self.q.queue_depth)}

    async def cancel(self, request_id: int) -> bool:
        return await self.pool.fetchval(self.q.cancel, request_id) is not None

    async def retry(self, request_id: int) -> bool:
        return await self.pool.fetchval(self.q.retry, request_id) is not None

    async def prepare(self, chain_id: int, genesis_hash: str) -> bool:
        """On a reset dev chain, forget its nonces and resend what was in flight there."""
        async with self.pool.acquire() as conn, conn.transaction():
            reset = await register_chain(conn, "relayer", chain_id, genesis_hash)
            if reset:
                await conn.execute(self.q.reset_nonces, chain_id)
                await conn.execute(self.q.requeue_all_submitted)
            return reset
