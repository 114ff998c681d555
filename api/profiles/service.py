"""Profiles (seeds 002, 003): the viewer's profile (username, names, bio, avatar; a creator's public
profile with it), public profiles by username, password change, statistics, followers/following."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from api.accounts.service import Accounts
from api.auth.service import AuthService, hash_password, verify_password  # auth's public surface
from api.domain_errors import Unauthenticated
from api.media.service import Media
from api.profiles.usernames import check_username
from core.db import Queries, translate_errors
from core.db.replica import ReadRouter
from core.errors import Conflict, InvalidInput, NotFound

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
EDITABLE = ("username", "display_name", "bio", "first_name", "last_name")


class Profiles:
    def __init__(
        self, pool: asyncpg.Pool, accounts: Accounts, auth: AuthService, media: Media, reads: ReadRouter | None = None
    ) -> None:
        self.pool = pool
        # Profiles, statistics and the social graph read through ``reads`` (README "Read replicas"; the primary
        # inside a write, e.g. the read-modify-write of ``update``).
        self.reads = reads or ReadRouter(pool)
        self.accounts = accounts
        self.auth = auth
        self.media = media
        self.q = QUERIES

    async def _row(self, user_id: int) -> asyncpg.Record:
        async with translate_errors():
            row: asyncpg.Record | None = await self.reads.fetchrow(self.q.profile_of, user_id)
        if row is None:
            raise NotFound("no such user", details={"id": user_id})
        return row

    async def _view(self, row: asyncpg.Record) -> dict[str, Any]:
        avatar = None
        if row["avatar_id"] is not None:
            avatar = (await self.media.read_urls(str(row["avatar_id"])))["variants"]
        creator = None
        if row["is_creator"]:
            creator = {"display_name": row["creator_display_name"], "bio": row["creator_bio"],
                       "categories": list(row["categories"])}  # fmt: skip
        return {
            "id": row["id"],
            "username": row["username"],
            "display_name": row["display_name"],
            "bio": row["bio"],
            "role": row["role"],
            "avatar": avatar,
            "creator": creator,
            "created_at": row["created_at"].isoformat(),
        }

    async def public(self, user_id: int) -> dict[str, Any]:
        return await self._view(await self._row(user_id))

    async def by_username(self, username: str, *, creator: bool = False) -> dict[str, Any]:
        async with translate_errors():
            user_id = await self.reads.fetchval(self.q.user_by_username, username)
        profile = await self.public(int(user_id)) if user_id is not None else None
        if profile is None or (creator and profile["creator"] is None):
            raise NotFound("no such username" if not creator else "no creator has this username",
                           details={"username": username[:32]})  # fmt: skip
        return profile

    async def mine(self, user_id: int) -> dict[str, Any]:
        row = await self._row(user_id)
        return {**await self._view(row), "first_name": row["first_name"], "last_name": row["last_name"]}

    async def update(self, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply the given fields; a username is checked, and taken case-insensitively once only."""
        if changes.get("username") is not None:
            check_username(changes["username"])
        row = await self._row(user_id)
        merged = {k: changes[k] if k in changes and changes[k] is not None else row[k] for k in EDITABLE}
        try:
            async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
                await conn.execute(self.q.upsert_profile, user_id, *(merged[k] for k in EDITABLE))
                creator = changes.get("creator")
                if creator is not None and row["is_creator"]:
                    await conn.execute(self.q.update_creator_profile, user_id, creator["display_name"],
                                       creator["bio"], sorted(set(creator["categories"])))  # fmt: skip
                elif creator is not None:
                    raise InvalidInput("only a creator has a creator profile", details={"field": "creator"})
        except Conflict as exc:
            raise Conflict("this username is taken", details={"field": "username"}) from exc
        return await self.mine(user_id)

    async def set_avatar(self, user_id: int, media_id: str) -> dict[str, Any]:
        media = await self.media.ready(media_id, owner_id=user_id, purpose="avatar")
        async with translate_errors():
            await self.pool.execute(self.q.set_avatar, user_id, media["id"])
        return await self.mine(user_id)

    async def change_password(self, user_id: int, current: str, new: str) -> dict[str, Any]:
        """Check the current password, store the new one, sign every session out; a fresh one is returned."""
        async with translate_errors():
            hashed = await self.pool.fetchval(self.q.password_hash, user_id)
        if not await verify_password(hashed, current) or hashed is None:
            raise Unauthenticated("the current password is wrong", details={"reason": "bad_credentials"})
        await self.accounts.set_password(user_id, await hash_password(new))
        await self.accounts.revoke_all(user_id)
        return await self.auth.start_session(user_id)

    async def statistics(self, user_id: int) -> dict[str, Any]:
        async with translate_errors():
            row = await self.reads.fetchrow(self.q.statistics, user_id)
        if row is None or row["member_since"] is None:
            raise NotFound("no such user", details={"id": user_id})
        return {**{k: int(row[k]) for k in ("following", "followers", "tips_sent", "wallets", "media")},
                "member_since": row["member_since"].isoformat()}  # fmt: skip

    async def _exists(self, user_id: int) -> None:
        await self._row(user_id)

    async def graph(self, kind: str, user_id: int, viewer: int | None, after: int, limit: int) -> list[dict[str, Any]]:
        """Followers or following of ``user_id``, by id; users in a block with the viewer are hidden."""
        await self._exists(user_id)
        query = self.q.followers_page if kind == "followers" else self.q.following_page
        async with translate_errors():
            rows = await self.reads.fetch(query, user_id, after, limit, viewer or 0)
        return [dict(r) for r in rows]

    async def follow_state(self, viewer: int, user_id: int) -> dict[str, Any]:
        await self._exists(user_id)
        async with translate_errors():
            row = await self.reads.fetchrow(self.q.follow_state, viewer, user_id)
            blocked = await self.reads.fetchval(self.q.blocked_between, viewer, user_id)
        assert row is not None  # two EXISTS: always one row
        return {"user_id": user_id, "following": row["following"], "followed_by": row["followed_by"],
                "blocked": bool(blocked)}  # fmt: skip
