"""Accounts, wallets, refresh-token families and email OTPs in Postgres."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from api.domain_errors import Forbidden, Unauthenticated
from api.store import QUERIES
from core.db import translate_errors
from core.errors import Conflict


def user_dict(row: asyncpg.Record, wallets: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "email_verified": row["email_verified"],
        "role": row["role"],
        "wallets": wallets,
        "created_at": row["created_at"].isoformat(),
    }


# Runs in the transaction linking a wallet to an existing account (user id, address).
LinkHook = Callable[[asyncpg.Connection, int, str], Awaitable[object]]


class Accounts:
    def __init__(self, pool: asyncpg.Pool, on_link: LinkHook | None = None) -> None:
        self.pool = pool
        self.q = QUERIES
        self.on_link = on_link

    # ------------------------------------------------------------------ users
    async def create_user(self, email: str | None, password_hash: str | None, role: str = "user") -> asyncpg.Record:
        async with translate_errors():
            row: asyncpg.Record = await self.pool.fetchrow(self.q.create_user, email, password_hash, role)
            return row

    async def by_email(self, email: str) -> asyncpg.Record | None:
        async with translate_errors():
            row: asyncpg.Record | None = await self.pool.fetchrow(self.q.user_by_email, email)
            return row

    async def by_id(self, user_id: int) -> asyncpg.Record | None:
        async with translate_errors():
            row: asyncpg.Record | None = await self.pool.fetchrow(self.q.user_by_id, user_id)
            return row

    async def wallets(self, user_id: int) -> list[str]:
        async with translate_errors():
            return [r["address"] for r in await self.pool.fetch(self.q.wallets_of, user_id)]

    async def profile(self, user_id: int) -> dict[str, Any] | None:
        row = await self.by_id(user_id)
        return user_dict(row, await self.wallets(user_id)) if row else None

    async def set_password(self, user_id: int, password_hash: str) -> None:
        async with translate_errors():
            await self.pool.execute(self.q.set_password, user_id, password_hash)

    async def set_email_verified(self, user_id: int) -> None:
        async with translate_errors():
            await self.pool.execute(self.q.set_email_verified, user_id)

    async def claim_email(self, user_id: int) -> bool:
        """Mark the email verified; True if it was not (and a password set before is dropped)."""
        async with translate_errors():
            return await self.pool.fetchval(self.q.claim_unverified_email, user_id) is not None

    async def set_role(self, user_id: int, role: str) -> asyncpg.Record | None:
        async with translate_errors():
            row: asyncpg.Record | None = await self.pool.fetchrow(self.q.set_role, user_id, role)
            return row

    async def user_for_wallet(self, address: str, link_to: int | None) -> int:
        """The account owning ``address``; links it to ``link_to`` or to a new account if unowned."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            owner = await conn.fetchval(self.q.wallet_owner, address)
            if owner is not None:
                if link_to is not None and owner != link_to:
                    raise Conflict("this wallet is linked to another account", details={"address": address})
                return int(owner)
            user_id = link_to
            if user_id is None:
                user_id = (await conn.fetchrow(self.q.create_user, None, None, "user"))["id"]
            await conn.execute(self.q.link_wallet, address, user_id)
            if link_to is not None and self.on_link is not None:
                await self.on_link(conn, int(user_id), address)  # e.g. coins bought before a wallet
            return int(user_id)

    # ------------------------------------------------------------------ refresh tokens
    async def start_family(self, user_id: int, token_hash: str, ttl: int) -> None:
        async with translate_errors():
            await self.pool.execute(self.q.insert_refresh_token, user_id, uuid.uuid4(), token_hash, float(ttl))

    async def rotate(self, token_hash: str, new_hash: str, ttl: int) -> int:
        """Use a refresh token once and store its successor; a reused token revokes its family."""
        reused = False
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.refresh_token_for_update, token_hash)
            if row is None:
                raise Unauthenticated("unknown refresh token", details={"reason": "invalid"})
            if row["used_at"] is not None or row["revoked_at"] is not None:
                await conn.execute(self.q.revoke_family, row["family_id"])
                reused = True
            elif row["expired"]:
                raise Unauthenticated("the refresh token has expired", details={"reason": "expired"})
            else:
                await conn.execute(self.q.use_refresh_token, row["id"])
                await conn.execute(self.q.insert_refresh_token, row["user_id"], row["family_id"], new_hash, float(ttl))
        if reused:  # raised after the commit, so the revocation sticks
            raise Unauthenticated(
                "this refresh token was already used; its session has been revoked", details={"reason": "reused"}
            )
        return int(row["user_id"])

    async def revoke(self, token_hash: str, user_id: int) -> bool:
        """Revoke the token's family if it is ``user_id``'s; another account's token is refused (403)."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.refresh_token_for_update, token_hash)
            if row is None:
                return False
            if int(row["user_id"]) != user_id:
                raise Forbidden("this refresh token belongs to another account", details={"reason": "not_yours"})
            await conn.execute(self.q.revoke_family, row["family_id"])
            return True

    async def revoke_all(self, user_id: int) -> None:
        async with translate_errors():
            await self.pool.execute(self.q.revoke_user_tokens, user_id)

    # ------------------------------------------------------------------ OTPs
    async def new_otp(self, user_id: int, purpose: str, code_hash: str, ttl: int) -> None:
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q.close_open_otps, user_id, purpose)
            await conn.execute(self.q.insert_otp, user_id, purpose, code_hash, float(ttl))

    async def check_otp(self, user_id: int, purpose: str, code_hash: str, max_attempts: int) -> bool:
        """True once for the right, fresh code; every wrong try spends one of ``max_attempts``."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.open_otp_for_update, user_id, purpose)
            if row is None or row["expired"] or row["attempts"] >= max_attempts:
                return False
            if hmac.compare_digest(row["code_hash"], code_hash):
                await conn.execute(self.q.consume_otp, row["id"])
                return True
            await conn.execute(self.q.otp_attempt, row["id"])
            return False
