"""Notifications to wallets: stored once per dedupe key, then pushed on the live feed.

A producer inserts inside its own transaction (:meth:`Notifications.add`) and pushes what it
inserted after the commit (:meth:`Notifications.push`): a notice is never pushed for a rolled
back change, and one Redis hiccup loses only the push (the stored notice stays readable).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from redis.asyncio import Redis

from api.live.notices import publish_notification
from core.db import Queries, translate_errors

log = logging.getLogger("api.notifications")


def notice_dict(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "recipient": row["recipient"],
        "kind": row["kind"],
        "meeting_id": row["meeting_id"],
        "data": row["data"],
        "read": row["read_at"] is not None,
        "read_at": row["read_at"].isoformat() if row["read_at"] else None,
        "created_at": row["created_at"].isoformat(),
    }


class Notifications:
    def __init__(self, pool: asyncpg.Pool, redis: Redis, queries: Queries, chain_id: int, maxlen: int) -> None:
        self.pool = pool
        self.redis = redis
        self.q = queries
        self.chain_id = chain_id
        self.maxlen = maxlen

    async def add(
        self,
        conn: asyncpg.Connection,
        recipient: str,
        kind: str,
        *,
        meeting_id: int | None,
        data: dict[str, Any],
        dedupe_key: str,
    ) -> dict[str, Any] | None:
        """Store a notice (inside the caller's transaction); None if this dedupe key was stored before."""
        row = await conn.fetchrow(self.q.insert_notification, self.chain_id, recipient, kind, meeting_id, data,
                                  dedupe_key)  # fmt: skip
        return notice_dict(row) if row else None

    async def push(self, notices: list[dict[str, Any]]) -> None:
        for notice in notices:
            try:
                await publish_notification(self.redis, self.chain_id, notice, self.maxlen)
            except Exception as exc:  # noqa: BLE001 (Redis down: the notice stays stored; only the push is lost)
                log.warning("notification %s not pushed on the feed: %s", notice["id"], exc)

    async def page(
        self, wallets: list[str], before: int, unread_only: bool, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await conn.fetch(self.q.notifications_page, self.chain_id, wallets, before, unread_only, limit)
            unread = await conn.fetchval(self.q.unread_count, self.chain_id, wallets)
        return [notice_dict(r) for r in rows], int(unread)

    async def mark_read(self, notice_id: int, wallets: list[str]) -> dict[str, Any] | None:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.mark_read, notice_id, self.chain_id, wallets)
        return notice_dict(row) if row else None

    async def mark_all_read(self, wallets: list[str]) -> int:
        async with translate_errors():
            status = await self.pool.execute(self.q.mark_all_read, self.chain_id, wallets)
        return int(status.split()[-1])
