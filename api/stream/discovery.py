"""What viewers find: a creator's stream, live now, recommended, followed creators' streams, search."""

from __future__ import annotations

from typing import Any

import asyncpg

from api.stream.service import QUERIES
from api.stream.views import stream_dict
from core.db import translate_errors
from core.db.replica import ReadRouter
from core.errors import NotFound

FAR = 2**62


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Discovery:
    """Pure reads, through ``reads`` (README "Read replicas")."""

    def __init__(self, reads: ReadRouter) -> None:
        self.reads = reads
        self.q = QUERIES

    async def _rows(self, query: str, *args: Any) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.reads.fetch(query, *args)
        return [stream_dict(r) for r in rows]

    async def of_creator(self, creator_id: int) -> dict[str, Any]:
        async def fetch(conn: asyncpg.Connection) -> tuple[str | None, asyncpg.Record | None]:
            return await conn.fetchval(self.q.creator_name, creator_id), await conn.fetchrow(
                self.q.latest_stream, creator_id
            )

        async with translate_errors():
            name, row = await self.reads.run(fetch, snapshot=True)
        if name is None:
            raise NotFound("no such creator", details={"creator_id": creator_id})
        return {"creator_id": creator_id, "creator_name": name, "stream": stream_dict(row) if row else None}

    async def live(self, after: tuple[int, int], limit: int) -> list[dict[str, Any]]:
        return await self._rows(self.q.live_streams, after[0], after[1], limit)

    async def recommended(self, viewer_id: int | None, limit: int) -> list[dict[str, Any]]:
        return await self._rows(self.q.recommended_streams, viewer_id, limit)

    async def following(self, viewer_id: int, before: int, limit: int) -> list[dict[str, Any]]:
        return await self._rows(self.q.following_streams, viewer_id, before, limit)

    async def search(self, text: str, limit: int) -> list[dict[str, Any]]:
        return await self._rows(self.q.search_streams, _like(text), limit)
