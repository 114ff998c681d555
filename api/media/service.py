"""Media (README "Media"): presigned upload → confirm (HEAD, size/type, decode, variants) → read URLs;
delete; orphaned uploads cleaned. The service surface other domains store objects through."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from api.domain_errors import Forbidden
from api.media.images import FORMATS, OUTPUT_TYPE, InvalidMedia, process
from api.media.storage import ObjectStorage
from api.periodic import every
from api.settings import ApiSettings
from core.db import Queries, translate_errors
from core.errors import InvalidInput, NotFound, ServiceUnavailable

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
PURPOSES = ("avatar", "post", "generation", "verification")
# Identity documents (README "Creator verification"): stored under a prefix no public base serves, never
# given a read URL here; only an admin's short-lived presigned GET (``private_urls``) reads them.
PRIVATE = frozenset({"verification"})
log = logging.getLogger("api.media")


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("a media id is a UUID", details={"id": value[:64]}) from None


class Media:
    def __init__(self, pool: asyncpg.Pool, storage: ObjectStorage, settings: ApiSettings) -> None:
        self.pool = pool
        self.storage = storage
        self.settings = settings
        self.q = QUERIES

    def _check_configured(self) -> None:
        if not self.settings.media_configured:
            raise ServiceUnavailable("media storage is not configured (API_S3_SECRET_ACCESS_KEY)")

    async def presign_upload(self, owner_id: int, purpose: str, content_type: str) -> dict[str, Any]:
        """A pending media object and the POST form that uploads it (exact key and type, bounded size)."""
        self._check_configured()
        if purpose not in PURPOSES:
            raise InvalidInput("unknown media purpose", details={"purpose": purpose[:32]})
        if content_type not in FORMATS:
            raise InvalidInput("this content type is not accepted", details={"accepted": sorted(FORMATS)})
        media_id = uuid.uuid4()
        key = f"uploads/{media_id}"
        ttl, max_bytes = self.settings.media_upload_ttl, self.settings.media_max_bytes
        async with translate_errors():
            await self.pool.execute(
                self.q.insert_upload, media_id, owner_id, purpose, key, content_type, max_bytes, float(ttl)
            )
        form = await self.storage.presign_post(key, content_type, max_bytes, ttl)
        return {"id": str(media_id), "url": form["url"], "fields": form["fields"], "expires_in": ttl,
                "max_bytes": max_bytes, "content_type": content_type}  # fmt: skip

    async def confirm(self, owner_id: int, media_id: str) -> dict[str, Any]:
        """Check the uploaded object and store its variants; a refused object is deleted with its row."""
        self._check_configured()
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.lock_media, _uuid(media_id))
            if row is None or row["owner_id"] != owner_id:
                raise NotFound("no such media", details={"id": media_id})
            if row["status"] == "ready":
                return await self.view(row)
            try:
                row = await self._check_and_store(conn, row)
                refused = None
            except InvalidMedia as exc:  # nothing is kept: the object goes, the row with it (committed)
                await self.storage.delete([row["upload_key"]])
                await conn.execute(self.q.delete_media, row["id"])
                refused = exc
        if refused is not None:
            raise refused
        return await self.view(row)

    async def _check_and_store(self, conn: asyncpg.Connection, row: asyncpg.Record) -> asyncpg.Record:
        info = await self.storage.head(row["upload_key"])
        if info is None:
            raise InvalidInput("nothing was uploaded for this media yet", details={"id": str(row["id"])})
        if info.size > row["max_bytes"]:
            raise InvalidMedia("the object is too large", details={"max_bytes": row["max_bytes"]})
        if info.content_type != row["content_type"]:
            raise InvalidMedia("the object's type is not the declared one", details={"content_type": info.content_type})
        data = await self.storage.read(row["upload_key"], row["max_bytes"])
        decoded = await asyncio.to_thread(
            process, data, row["content_type"], row["purpose"], self.settings.media_max_pixels
        )
        variants = {}
        for variant in decoded.variants:
            prefix = "private" if row["purpose"] in PRIVATE else "media"
            key = f"{prefix}/{row['id']}/{variant.name}.webp"
            await self.storage.put(key, variant.data, OUTPUT_TYPE)
            variants[variant.name] = {"key": key, "width": variant.width, "height": variant.height}
        await self.storage.delete([row["upload_key"]])  # only the re-encoded variants are kept
        ready: asyncpg.Record = await conn.fetchrow(
            self.q.mark_ready, row["id"], info.size, decoded.width, decoded.height, json.dumps(variants)
        )
        return ready

    async def view(self, row: asyncpg.Record) -> dict[str, Any]:
        variants = json.loads(row["variants"]) if isinstance(row["variants"], str) else row["variants"]
        if row["purpose"] in PRIVATE:
            variants = {}  # a private object is never handed a URL by the media routes
        urls = {name: {"url": await self.storage.url(v["key"], self.settings.media_read_ttl),
                       "width": v["width"], "height": v["height"]} for name, v in variants.items()}  # fmt: skip
        return {"id": str(row["id"]), "purpose": row["purpose"], "status": row["status"],
                "width": row["width"], "height": row["height"], "variants": urls}  # fmt: skip

    async def ready(self, media_id: str, owner_id: int | None = None, purpose: str | None = None) -> asyncpg.Record:
        """A confirmed media object (of ``owner_id``/``purpose`` if given); pending ones are unusable."""
        async with translate_errors():
            row: asyncpg.Record | None = await self.pool.fetchrow(self.q.media_by_id, _uuid(media_id))
        if row is None or (owner_id is not None and row["owner_id"] != owner_id):
            raise NotFound("no such media", details={"id": media_id})
        if row["status"] != "ready":
            raise InvalidInput("this media is not confirmed yet", details={"id": media_id})
        if purpose is not None and row["purpose"] != purpose:
            raise InvalidInput(f"this media was not uploaded as {purpose!r}", details={"id": media_id})
        return row

    async def read_urls(self, media_id: str) -> dict[str, Any]:
        row = await self.ready(media_id)
        if row["purpose"] in PRIVATE:
            raise NotFound("no such media", details={"id": media_id})
        return await self.view(row)

    async def private_urls(self, row: asyncpg.Record, ttl: int) -> dict[str, Any]:
        """Presigned GETs (``ttl`` seconds) of a private object's variants, never under the public base.
        The caller (an admin's review) checks who may read and logs the read."""
        variants = json.loads(row["variants"]) if isinstance(row["variants"], str) else row["variants"]
        return {name: {"url": await self.storage.presigned_url(v["key"], ttl), "width": v["width"],
                       "height": v["height"]} for name, v in variants.items()}  # fmt: skip

    async def delete(self, owner_id: int, media_id: str) -> None:
        """Delete a media object and every stored object of it (upload and variants)."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.q.lock_media, _uuid(media_id))
            if row is None or row["owner_id"] != owner_id:
                raise Forbidden("not your media") if row is not None else NotFound("no such media")
            variants = json.loads(row["variants"]) if isinstance(row["variants"], str) else row["variants"]
            await self.storage.delete([row["upload_key"], *(v["key"] for v in variants.values())])
            await conn.execute(self.q.delete_media, row["id"])

    async def clean_orphans(self, batch: int = 500) -> int:
        """Delete pending uploads past their deadline (their object, then their row); returns how many."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(self.q.claim_orphans, batch)
            if rows:
                await self.storage.delete([r["upload_key"] for r in rows])
                await conn.execute(self.q.delete_media_ids, [r["id"] for r in rows])
        return len(rows)

    async def run_cleanup(self) -> None:
        """The background loop (``api/background.py``): orphans every MEDIA_CLEANUP_INTERVAL seconds."""

        async def round_() -> None:
            if self.settings.media_configured:
                await self.clean_orphans()

        await every(self.settings.media_cleanup_interval, round_, "media cleanup")
