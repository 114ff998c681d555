"""Search (seed 002 ``/api/search``): users and creators by username prefix and full text, ranked."""

from __future__ import annotations

from typing import Any

from api.profiles.service import QUERIES
from core.db import translate_errors
from core.db.replica import ReadRouter


def like_prefix(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    reads: ReadRouter, text: str, *, creators_only: bool, viewer: int | None, offset: int, limit: int
) -> list[dict[str, Any]]:
    async with translate_errors():
        rows = await reads.fetch(QUERIES.search, text, like_prefix(text), limit, offset, creators_only, viewer or 0)
    return [{**dict(r), "rank": round(float(r["rank"]), 6)} for r in rows]
