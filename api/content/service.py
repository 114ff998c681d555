"""Content (seed 002): posts with up to 4 confirmed images, likes (idempotent, exact counts), comments,
a user's posts, the public feed and the personalised one (followed creators and self). A block between
the viewer and an author hides the author's posts and comments both ways. Cursor pages by id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from api.domain_errors import Forbidden
from api.media.service import Media
from core.db import Queries, translate_errors
from core.db.replica import ReadRouter
from core.errors import NotFound

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
NEWEST = 2**63 - 1


class Content:
    """Writes on ``pool`` (the primary); the feeds, posts and comments read through ``reads`` (README "Read
    replicas": a replica on GET requests, the primary inside a write)."""

    def __init__(self, pool: asyncpg.Pool, media: Media, reads: ReadRouter | None = None) -> None:
        self.pool = pool
        self.reads = reads or ReadRouter(pool)
        self.media = media
        self.q = QUERIES

    async def _media(self, author_id: int, media_ids: list[str]) -> list[Any]:
        return [(await self.media.ready(m, owner_id=author_id, purpose="post"))["id"] for m in dict.fromkeys(media_ids)]

    async def _view(self, row: asyncpg.Record) -> dict[str, Any]:
        media = []
        for media_id in row["media_ids"]:
            try:
                media.append(await self.media.read_urls(str(media_id)))
            except NotFound:  # deleted since: the post stays, without it
                continue
        return {
            **{k: row[k] for k in ("id", "author_id", "username", "body", "like_count", "comment_count", "liked")},
            "media": media,
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
        }

    async def create(self, author_id: int, body: str, media_ids: list[str]) -> dict[str, Any]:
        ids = await self._media(author_id, media_ids)
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.insert_post, author_id, body, ids)
        return await self.post(row["id"], author_id)

    async def update(self, author_id: int, post_id: int, body: str, media_ids: list[str]) -> dict[str, Any]:
        ids = await self._media(author_id, media_ids)
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.update_post, post_id, author_id, body, ids)
        if row is None:
            await self._owned(post_id, author_id)
        return await self.post(post_id, author_id)

    async def _owned(self, post_id: int, author_id: int) -> None:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.post_by_id, post_id, author_id)
        if row is None:
            raise NotFound("no such post", details={"id": post_id})
        if row["author_id"] != author_id:
            raise Forbidden("not your post", details={"id": post_id})

    async def delete(self, author_id: int, post_id: int) -> None:
        async with translate_errors():
            deleted = await self.pool.fetchval(self.q.delete_post, post_id, author_id)
        if deleted is None:
            await self._owned(post_id, author_id)

    async def post(self, post_id: int, viewer: int | None) -> dict[str, Any]:
        async with translate_errors():
            row = await self.reads.fetchrow(self.q.post_by_id, post_id, viewer or 0)
        if row is None:
            raise NotFound("no such post", details={"id": post_id})
        return await self._view(row)

    async def page(
        self, viewer: int | None, before: int, limit: int, *, author: int = 0, personal: bool = False
    ) -> list[dict[str, Any]]:
        async with translate_errors():
            if personal:
                rows = await self.reads.fetch(self.q.personal_feed, viewer or 0, before or NEWEST, limit)
            elif author:
                rows = await self.reads.fetch(self.q.author_posts, viewer or 0, before or NEWEST, limit, author)
            else:
                rows = await self.reads.fetch(self.q.public_feed, viewer or 0, before or NEWEST, limit)
        return [await self._view(r) for r in rows]

    async def like(self, user_id: int, post_id: int, on: bool) -> dict[str, Any]:
        """Like or unlike (idempotent); the counter moves only with a row actually added or removed."""
        await self.post(post_id, user_id)  # visible to this user (no block between)
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            changed = await conn.fetchval(self.q.like if on else self.q.unlike, post_id, user_id)
            if changed is not None:
                count = await conn.fetchval(self.q.bump_likes, post_id, 1 if on else -1)
            else:
                count = await conn.fetchval(self.q.like_count, post_id)
        return {"post_id": post_id, "liked": on, "like_count": int(count)}

    async def comment(self, user_id: int, post_id: int, body: str) -> dict[str, Any]:
        await self.post(post_id, user_id)
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.insert_comment, post_id, user_id, body)
            await conn.execute(self.q.bump_comments, post_id)
        return _comment(row, None)

    async def comments(self, viewer: int | None, post_id: int, after: int, limit: int) -> list[dict[str, Any]]:
        await self.post(post_id, viewer)
        async with translate_errors():
            rows = await self.reads.fetch(self.q.comments_page, post_id, after, limit, viewer or 0)
        return [_comment(r, r["username"]) for r in rows]


def _comment(row: asyncpg.Record, username: str | None) -> dict[str, Any]:
    return {"id": row["id"], "post_id": row["post_id"], "author_id": row["author_id"], "username": username,
            "body": row["body"], "created_at": row["created_at"].isoformat()}  # fmt: skip
