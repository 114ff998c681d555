"""The API's database reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from core.db import Queries, translate_errors

QUERIES = Queries(Path(__file__).with_name("queries.sql"))


class Store:
    def __init__(self, pool: asyncpg.Pool, chain_id: int) -> None:
        self.pool = pool
        self.chain_id = chain_id
        self.q = QUERIES

    async def indexed_block(self) -> dict[str, Any] | None:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.indexed_block, self.chain_id)
        return {"number": row["block_number"], "hash": row["block_hash"]} if row else None

    async def balances(self, account: str) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """The indexed block and the account's balances, read in one snapshot."""
        async with (
            translate_errors(),
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            block = await conn.fetchrow(self.q.indexed_block, self.chain_id)
            rows = await conn.fetch(self.q.balances_of, self.chain_id, account)
        indexed = {"number": block["block_number"], "hash": block["block_hash"]} if block else None
        return indexed, {r["token"]: {"balance": r["balance"], "updated_block": r["updated_block"]} for r in rows}
