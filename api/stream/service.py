"""Streams: a creator's controls (create, ingress keys, info, chat settings, tokens) and viewer tokens.

One stream per creator that has not ended (a partial unique index); every change of an active stream
runs under its row lock. Stream keys are shown once, when the ingress is created, and stored as their
SHA-256. The LiveKit calls go through :class:`api.stream.livekit.LiveKit`; the lifecycle (live, ended,
viewers) comes from its webhooks (``api/stream/lifecycle.py``).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import asyncpg

from api.domain_errors import Forbidden, Unauthenticated
from api.stream.livekit import Grant, LiveKit
from api.stream.views import chat_dict, stream_dict
from core.db import Queries, translate_errors
from core.errors import Conflict, NotFound

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
Result = dict[str, Any]


def creator_identity(user_id: int) -> str:
    return f"creator:{user_id}"


class Streams:
    def __init__(self, pool: asyncpg.Pool, livekit: LiveKit) -> None:
        self.pool = pool
        self.livekit = livekit
        self.q = QUERIES

    async def _name(self, conn: asyncpg.Connection, user_id: int) -> str:
        name = await conn.fetchval(self.q.creator_name, user_id)
        return str(name) if name else f"creator {user_id}"

    async def _locked(self, conn: asyncpg.Connection, creator_id: int) -> asyncpg.Record:
        row = await conn.fetchrow(self.q.lock_active_stream, creator_id)
        if row is None:
            raise NotFound("you have no active stream; create one first", details={"reason": "no_stream"})
        return row

    async def create(self, creator_id: int, title: str, category: str, thumbnail_url: str) -> Result:
        self.livekit.client()  # 503 before anything is written when LiveKit is not configured
        room = f"stream-{secrets.token_hex(8)}"
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.insert_stream, creator_id, room, title, category, thumbnail_url)
            if row is None:
                active = await conn.fetchrow(self.q.active_stream, creator_id)
                raise Conflict("you already have a stream that has not ended",
                               details={"stream_id": active["id"] if active else None})  # fmt: skip
            await self.livekit.create_room(room)  # a failure rolls the row back
        return stream_dict(row)

    async def active(self, creator_id: int) -> Result:
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.active_stream, creator_id)
        if row is None:
            raise NotFound("you have no active stream", details={"reason": "no_stream"})
        return stream_dict(row)

    async def past(self, creator_id: int, before: int, limit: int) -> list[Result]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await conn.fetch(self.q.past_streams, creator_id, before, limit)
        return [stream_dict(r) for r in rows]

    async def update_info(self, creator_id: int, title: str, category: str, thumbnail_url: str) -> Result:
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, creator_id)
            row = await conn.fetchrow(self.q.update_info, row["id"], title, category, thumbnail_url)
        return stream_dict(row)

    async def update_chat(self, creator_id: int, settings: dict[str, Any]) -> Result:
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, creator_id)
            row = await conn.fetchrow(self.q.update_chat, row["id"], settings["enabled"], settings["followers_only"],
                                      settings["slow_mode_seconds"], settings["allow_anonymous"])  # fmt: skip
        return chat_dict(row)

    async def create_ingress(self, creator_id: int, kind: str) -> Result:
        """An RTMP or WHIP ingress for the active stream; its stream key is in this answer only."""
        self.livekit.client()
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, creator_id)
            if await conn.fetchrow(self.q.live_ingress, row["id"]) is not None:
                raise Conflict("the stream has an ingress; delete it first", details={"reason": "ingress_exists"})
            name = await self._name(conn, creator_id)
            made = await self.livekit.create_ingress(kind, row["room"], creator_identity(creator_id), name)
            digest = hashlib.sha256(made.stream_key.encode()).hexdigest()
            await conn.execute(self.q.insert_ingress, made.ingress_id, row["id"], kind, made.url, digest)
        return {"ingress_id": made.ingress_id, "kind": kind, "url": made.url, "stream_key": made.stream_key}

    async def delete_ingress(self, creator_id: int) -> Result:
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, creator_id)
            ingress = await conn.fetchrow(self.q.live_ingress, row["id"])
            if ingress is None:
                raise NotFound("the stream has no ingress", details={"reason": "no_ingress"})
            await self.livekit.delete_ingress(ingress["ingress_id"])
            await conn.execute(self.q.delete_ingress, ingress["ingress_id"])
        return {"ingress_id": ingress["ingress_id"], "deleted": True}

    async def credentials(self, creator_id: int) -> Result:
        """Where to stream to (the key itself was shown once, at creation)."""
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.active_stream, creator_id)
            if row is None:
                raise NotFound("you have no active stream", details={"reason": "no_stream"})
            ingress = await conn.fetchrow(self.q.live_ingress, row["id"])
        if ingress is None:
            return {"stream_id": row["id"], "ingress": None}
        view = {k: ingress[k] for k in ("ingress_id", "kind", "url")}
        return {"stream_id": row["id"], "ingress": {**view, "key_sha256": ingress["key_sha256"]}}

    async def creator_token(self, creator_id: int) -> Result:
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.active_stream, creator_id)
            if row is None:
                raise NotFound("you have no active stream", details={"reason": "no_stream"})
            name = await self._name(conn, creator_id)
        grant = Grant(row["room"], creator_identity(creator_id), name, publish=True, publish_data=True, admin=True)
        return self._token(row, grant)

    async def viewer_token(self, creator_id: int, viewer_id: int | None, guest_name: str = "") -> Result:
        """A subscribe-only token; chat (data publish) when the stream's chat settings let this viewer."""
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.latest_stream, creator_id)
            if row is None or row["status"] == "ended":
                raise NotFound("this creator is not streaming", details={"creator_id": creator_id})
            if viewer_id is None:
                if not row["allow_anonymous"]:
                    raise Unauthenticated("sign in to watch this stream", details={"reason": "missing"})
                identity, name, chat = f"anon:{secrets.token_hex(8)}", guest_name or "guest", False
            else:
                if await conn.fetchval(self.q.is_blocked, creator_id, viewer_id):
                    raise Forbidden("the creator blocked you", details={"reason": "blocked"})
                follows = viewer_id == creator_id or await conn.fetchval(self.q.follows, viewer_id, creator_id)
                chat = row["chat_enabled"] and (follows or not row["chat_followers_only"])
                identity, name = f"viewer:{viewer_id}", f"user {viewer_id}"
        grant = Grant(row["room"], identity, name, publish=False, publish_data=bool(chat))
        return self._token(row, grant)

    def _token(self, row: asyncpg.Record, grant: Grant) -> Result:
        return {
            "stream_id": row["id"],
            "room": row["room"],
            "url": self.livekit.public_url,
            "identity": grant.identity,
            "token": self.livekit.token(grant),
            "can_publish": grant.publish,
            "can_chat": grant.publish_data,
            "chat": chat_dict(row),
        }
