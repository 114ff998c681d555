"""Creators (seeds 000, 002): application → admin approval → ``creator`` role and a public
profile with the claps and gifts received (indexed); follows; block lists (a user's, and the
admin's list of addresses barred from tipping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from api.domain_errors import Forbidden
from api.store import ApiStore, Indexed
from api.tips.schemas import ApplyBody
from core.chain.eip712 import KIND_NAMES
from core.db import Queries, translate_errors
from core.errors import Conflict, InvalidInput, NotFound

QUERIES = Queries(Path(__file__).with_name("queries.sql"))


def parse_user_id(value: str, name: str = "id") -> int:
    if not value.isdigit() or len(value) > 18 or int(value) == 0:
        raise InvalidInput(f"{name} must be a positive integer", details={name: value[:32]})
    return int(value)


def application_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("id", "user_id", "display_name", "bio", "status", "reason")},
        "categories": list(row["categories"]),
        "created_at": row["created_at"].isoformat(),
        "reviewed_at": row["reviewed_at"].isoformat() if row["reviewed_at"] else None,
    }


class Creators:
    def __init__(
        self, pool: asyncpg.Pool, store: ApiStore, tokens: dict[str, str], *, requires_verification: bool = False
    ) -> None:
        self.pool = pool
        self.requires_verification = requires_verification
        self.store = store
        self.tokens = tokens
        self.q = QUERIES

    # ------------------------------------------------------------------ applications
    async def apply(self, user_id: int, body: ApplyBody) -> dict[str, Any]:
        categories = sorted({c.strip()[:40] for c in body.categories if c.strip()})
        async with translate_errors(), self.pool.acquire() as conn:
            if await conn.fetchval(self.q.is_creator, user_id):
                raise Conflict("you are a creator already")
            try:
                row = await conn.fetchrow(
                    self.q.insert_application,
                    user_id,
                    body.display_name.strip() or body.display_name,
                    body.bio,
                    categories,
                )
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("you have an application under review") from exc
        return application_view(row)

    async def review(self, user_id: int, admin_id: int, approve: bool, reason: str | None) -> dict[str, Any]:
        """Approve (profile + role) or reject the user's open application, in one transaction."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            app = await conn.fetchrow(self.q.open_application_for_update, user_id)
            if app is None:
                raise NotFound("this user has no application under review", details={"id": user_id})
            if approve and self.requires_verification and not await conn.fetchval(self.q.identity_verified, user_id):
                raise Conflict(
                    "approving a creator needs an approved identity verification",
                    details={"reason": "identity_not_verified"},
                )
            status = "approved" if approve else "rejected"
            row = await conn.fetchrow(self.q.review_application, app["id"], status, reason, admin_id)
            if approve:
                await conn.execute(self.q.upsert_profile, user_id, app["display_name"], app["bio"], app["categories"])
                await conn.execute(self.q.make_creator, user_id)
        return application_view(row)

    async def applications(self, status: str, after: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.applications_page, status, after, limit)
        return [application_view(r) for r in rows]

    # ------------------------------------------------------------------ profiles
    async def profile(self, creator_id: int, viewer: int | None, wallets: list[str]) -> dict[str, Any]:
        chain_id = self.store.chain_id

        async def read(conn: asyncpg.Connection) -> tuple[Any, ...]:
            row = await conn.fetchrow(self.q.profile, creator_id)
            if row is None:
                return (None, [], [], None)
            received = await conn.fetch(self.q.received, chain_id, wallets)
            earnings = await conn.fetch(self.q.earnings, chain_id, wallets)
            following = await conn.fetchval(self.q.is_following, viewer, creator_id) if viewer else None
            return row, received, earnings, following

        indexed: Indexed
        indexed, (row, received, earnings, following) = await self.store.read(read)
        if row is None:
            raise NotFound("no such creator", details={"id": creator_id})
        return {
            **{k: row[k] for k in ("id", "display_name", "bio", "followers", "following")},
            "categories": list(row["categories"]),
            "wallets": wallets,
            "followed_by_me": following,
            "received": [self._received(r) for r in received],
            "earnings": [
                {"token": r["token"], "token_name": self.tokens.get(r["token"]), "amount": r["amount"]}
                for r in earnings
            ],
            "approved_at": row["approved_at"].isoformat(),
            "indexed_block": indexed,
        }

    def _received(self, r: asyncpg.Record) -> dict[str, Any]:
        return {
            "kind": KIND_NAMES[r["kind"]],
            "token": r["token"],
            "token_name": self.tokens.get(r["token"]),
            "count": r["n"],
            "amount": r["amount"],
            "fee": r["fee"],
        }

    async def creators(self, after: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.store.reads.fetch(self.q.creators_page, after, limit)  # README "Read replicas"
        return [{**dict(r), "categories": list(r["categories"])} for r in rows]

    # ------------------------------------------------------------------ follows, blocks
    async def follow(self, user_id: int, creator_id: int, on: bool) -> dict[str, Any]:
        if user_id == creator_id:
            raise InvalidInput("you cannot follow yourself")
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(self.q.is_creator, creator_id):
                raise NotFound("no such creator", details={"id": creator_id})
            if on:
                if await conn.fetchval(self.q.blocked_between, user_id, creator_id):
                    raise Forbidden("you cannot follow this creator", details={"reason": "blocked"})
                await conn.execute(self.q.follow, user_id, creator_id)
            else:
                await conn.execute(self.q.unfollow, user_id, creator_id)
            followers = await conn.fetchval(self.q.followers_count, creator_id)
        return {"creator_id": creator_id, "following": on, "followers": followers}

    async def block(self, user_id: int, other: int, on: bool) -> dict[str, Any]:
        """Block (or unblock) a user; blocking drops the follows between the two."""
        if user_id == other:
            raise InvalidInput("you cannot block yourself")
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(self.q.user_exists, other):
                raise NotFound("no such user", details={"id": other})
            if on:
                await conn.execute(self.q.block, user_id, other)
                await conn.execute(self.q.drop_follows_between, user_id, other)
            else:
                await conn.execute(self.q.unblock, user_id, other)
        return {"user_id": other, "blocked": on}

    async def block_address(self, address: str, admin_id: int, reason: str | None) -> dict[str, Any]:
        async with translate_errors():
            if reason is None:
                await self.pool.execute(self.q.unblock_address, address)
            else:
                await self.pool.execute(self.q.block_address, address, reason, admin_id)
        return {"address": address, "blocked": reason is not None}
