"""The relayer's database side: the request queue and the persisted nonces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from core.db import Queries, translate_errors
from core.db.chains import register_chain
from core.errors import InvalidInput
from core.queue import TxRequest, enqueue

QUERIES = Queries(Path(__file__).with_name("queries.sql"))


class RelayerStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.q = QUERIES

    async def enqueue(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> int:
        """Insert a request once per idempotency key; returns its id (existing or new)."""
        request_id, _ = await self.enqueue_once(kind, idempotency_key, payload)
        return request_id

    async def enqueue_once(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> tuple[int, bool]:
        """Insert a request once per idempotency key; returns its id and whether it is new."""
        async with translate_errors(), self.pool.acquire() as conn:
            result = await enqueue(conn, TxRequest(kind, idempotency_key, payload))
        if not result.matches:
            raise InvalidInput(f"idempotency key {idempotency_key!r} was used for another request")
        return result.id, result.new

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
