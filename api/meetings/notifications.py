"""Notifications to wallets: stored once per dedupe key, then pushed on the live feed.

A producer inserts inside its own transaction (:meth:`Notifications.add`) and pushes what it
inserted after the commit (:meth:`Notifications.push`): a notice is never pushed for a rolled
back change, and one Redis hiccup loses only the push (the stored notice stays readable).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.asyncio import Redis

from api.live.notices import publish_notifications
from core.db import Queries, translate_errors

log = logging.getLogger("api.notifications")


@dataclass(frozen=True)
class Notice:
    recipient: str
    kind: str
    meeting_id: int | None
    dedupe_key: str
    data: dict[str, Any] = field(default_factory=dict)


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

    async def add(self, conn: asyncpg.Connection, notices: list[Notice]) -> list[dict[str, Any]]:
        """Store notices (inside the caller's transaction); returns those whose dedupe key was new."""
        if not notices:
            return []
        rows = await conn.fetch(
            self.q.insert_notifications,
            self.chain_id,
            [n.recipient for n in notices],
            [n.kind for n in notices],
            [n.meeting_id for n in notices],
            [json.dumps(n.data, separators=(",", ":")) for n in notices],
            [n.dedupe_key for n in notices],
        )
        return [notice_dict(r) for r in rows]

    async def push(self, notices: list[dict[str, Any]]) -> None:
        if not notices:
            return
        try:
            await publish_notifications(self.redis, self.chain_id, notices, self.maxlen)
        except Exception as exc:  # noqa: BLE001 (Redis down: the notices stay stored; only the push is lost)
            log.warning("%d notification(s) not pushed on the feed: %s", len(notices), exc)

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
