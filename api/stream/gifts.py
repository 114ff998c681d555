"""The gift catalog: named gifts with a coin price, seeded by the migration and edited by admins."""

from __future__ import annotations

from typing import Any

import asyncpg

from api.stream.service import QUERIES
from core.db import translate_errors


class Gifts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.q = QUERIES

    async def catalog(self, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await conn.fetch(self.q.gift_catalog, include_inactive)
        return [dict(r) for r in rows]

    async def put(self, slug: str, name: str, price: str, active: bool) -> dict[str, Any]:
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.upsert_gift, slug, name, price, active)
        return dict(row)
