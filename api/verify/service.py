"""Creator verification (README "Creator verification"): a user submits identity documents (private media
objects), an admin reads them through short-lived presigned GETs (each read logged) and approves or
rejects; approving a creator can require an approved verification (API_CREATOR_REQUIRES_VERIFICATION)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from api.media.service import Media
from api.settings import ApiSettings
from api.verify.payouts import Payouts
from api.verify.schemas import VerificationBody
from core.db import Queries, translate_errors
from core.errors import Conflict, NotFound

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
__all__ = ["Payouts", "Verifications"]


def verification_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("id", "user_id", "document_kind", "status", "reason", "documents")},
        "created_at": row["created_at"].isoformat(),
        "reviewed_at": row["reviewed_at"].isoformat() if row["reviewed_at"] else None,
    }


class Verifications:
    def __init__(self, pool: asyncpg.Pool, media: Media, settings: ApiSettings) -> None:
        self.pool = pool
        self.media = media
        self.settings = settings
        self.q = QUERIES

    async def submit(self, user_id: int, body: VerificationBody) -> dict[str, Any]:
        """Submit documents for review: the user's own confirmed 'verification' media, not used before."""
        rows = [await self.media.ready(m, owner_id=user_id, purpose="verification") for m in body.ids()]
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            try:
                created = await conn.fetchrow(self.q.insert_verification, user_id, body.document_kind)
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("you have a verification under review") from exc
            try:
                for position, row in enumerate(rows):
                    await conn.execute(self.q.insert_document, created["id"], row["id"], position)
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("a document was submitted before; upload it again") from exc
            row = await conn.fetchrow(self.q.verification_by_id, created["id"])
        return verification_view(row)

    async def mine(self, user_id: int) -> dict[str, Any]:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.latest_of_user, user_id)
        if row is None:
            raise NotFound("you have submitted no verification")
        return verification_view(row)

    async def page(self, status: str, after: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.verifications_page, status, after, limit)
        return [verification_view(r) for r in rows]

    async def detail(self, verification_id: int, admin_id: int) -> dict[str, Any]:
        """The verification and presigned reads of its documents; every document handed out is logged."""
        ttl = self.settings.verification_read_ttl
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.verification_by_id, verification_id)
            if row is None:
                raise NotFound("no such verification", details={"id": verification_id})
            documents = []
            for media in await conn.fetch(self.q.documents_of, verification_id):
                await conn.execute(self.q.log_view, verification_id, media["id"], admin_id)
                documents.append({"media_id": str(media["id"]), "variants": await self.media.private_urls(media, ttl)})
        return {**verification_view(row), "expires_in": ttl, "document_urls": documents}

    async def views(self, verification_id: int, after: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            if await self.pool.fetchrow(self.q.verification_by_id, verification_id) is None:
                raise NotFound("no such verification", details={"id": verification_id})
            rows = await self.pool.fetch(self.q.views_of, verification_id, after, limit)
        return [{**dict(r), "viewed_at": r["viewed_at"].isoformat()} for r in rows]

    async def review(self, verification_id: int, admin_id: int, approve: bool, reason: str | None) -> dict[str, Any]:
        status = "approved" if approve else "rejected"
        async with translate_errors(), self.pool.acquire() as conn:
            moved = await conn.fetchval(self.q.review, verification_id, status, reason, admin_id)
            row = await conn.fetchrow(self.q.verification_by_id, verification_id)
        if row is None:
            raise NotFound("no such verification", details={"id": verification_id})
        if moved is None:
            raise Conflict("this verification was decided already", details={"status": row["status"]})
        return verification_view(row)
