"""The API's reads of the indexed state, each in one snapshot with the block it reflects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from core.db import Queries, translate_errors

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
T = TypeVar("T")
Indexed = dict[str, Any] | None


def _indexed(row: asyncpg.Record | None) -> Indexed:
    return {"number": row["block_number"], "hash": row["block_hash"]} if row else None


class Store:
    def __init__(self, pool: asyncpg.Pool, chain_id: int) -> None:
        self.pool = pool
        self.chain_id = chain_id
        self.q = QUERIES

    async def indexed_block(self) -> Indexed:
        async with translate_errors():
            return _indexed(await self.pool.fetchrow(self.q.indexed_block, self.chain_id))

    async def read(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> tuple[Indexed, T]:
        """Run ``fn`` and read the checkpoint in one read-only snapshot: the pair is consistent."""
        async with (
            translate_errors(),
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            block = await conn.fetchrow(self.q.indexed_block, self.chain_id)
            result = await fn(conn)
        return _indexed(block), result

    async def balances(self, account: str) -> tuple[Indexed, dict[str, dict[str, Any]]]:
        """The indexed block and the account's balances, read in one snapshot."""
        indexed, rows = await self.read(lambda conn: conn.fetch(self.q.balances_of, self.chain_id, account))
        return indexed, {r["token"]: {"balance": r["balance"], "updated_block": r["updated_block"]} for r in rows}

    async def balances_of_many(self, accounts: list[str]) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(lambda conn: conn.fetch(self.q.balances_of_many, self.chain_id, accounts))

    async def mint(self, payment_ref: str) -> tuple[Indexed, asyncpg.Record | None]:
        return await self.read(lambda conn: conn.fetchrow(self.q.mint_by_ref, self.chain_id, payment_ref))

    async def mints_page(
        self, account: str, before: tuple[int, str], limit: int
    ) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.mints_page, self.chain_id, account, before[0], before[1], limit)
        )

    async def transfers_page(
        self, account: str, before: tuple[int, int], limit: int
    ) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.transfers_page, self.chain_id, account, before[0], before[1], limit)
        )

    # ------------------------------------------------------------------ live feed
    async def transfers_between(self, after: int, upto: int, cap: int) -> list[asyncpg.Record]:
        async with translate_errors():
            rows: list[asyncpg.Record] = await self.pool.fetch(
                self.q.transfers_between, self.chain_id, after, upto, cap
            )
            return rows

    async def balances_for(self, keys: list[tuple[str, str]]) -> list[asyncpg.Record]:
        async with translate_errors():
            rows: list[asyncpg.Record] = await self.pool.fetch(
                self.q.balances_for_keys, self.chain_id, [k[0] for k in keys], [k[1] for k in keys]
            )
            return rows
