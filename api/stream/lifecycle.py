"""The stream lifecycle from LiveKit's webhooks, each event applied once.

The event id is recorded in the transaction of its effects (a replay finds it and changes nothing).
Deliveries may come in any order, so every effect is monotonic in LiveKit's ``createdAt``:
- ``room_started``/``ingress_started`` make a stream live, keeping the earliest start; they never
  revive an ended stream (``ended`` is terminal: a room is used by one stream only);
- ``room_finished``/``ingress_ended`` end it, keeping the latest end;
- ``participant_joined``/``participant_left`` set a viewer's presence only when newer than what is
  stored for that viewer, so a ``left`` delivered before its ``joined`` keeps the viewer out; the
  viewer count is recounted from the presences (the creator and the ingress are not viewers).
Events for rooms that are not ours are recorded and ignored.
"""

from __future__ import annotations

import datetime
from typing import Any

import asyncpg
from livekit import api

from api.stream.service import QUERIES
from core.db import translate_errors
from core.errors import InvalidInput

STARTS = {"room_started", "ingress_started"}
ENDS = {"room_finished", "ingress_ended"}
PRESENCE = {"participant_joined": True, "participant_left": False}
VIEWERS = ("viewer:", "anon:")


def _room_of(event: api.WebhookEvent) -> tuple[str, str]:
    """(room name, ingress id) the event is about."""
    room = event.room.name if event.HasField("room") else ""
    ingress = event.ingress_info.ingress_id if event.HasField("ingress_info") else ""
    if not room and event.HasField("ingress_info"):
        room = event.ingress_info.room_name
    return room, ingress


class Lifecycle:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.q = QUERIES

    async def apply(self, event: api.WebhookEvent) -> dict[str, Any]:
        if not event.id or not event.event or len(event.id) > 200:
            raise InvalidInput("the event has no id or kind")
        at = datetime.datetime.fromtimestamp(max(event.created_at, 0), datetime.UTC)
        room, ingress_id = _room_of(event)
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not room and ingress_id:
                room = await conn.fetchval(self.q.room_of_ingress, ingress_id) or ""
            if await conn.fetchval(self.q.record_event, event.id, event.event[:64], room[:200], at) is None:
                return {"event_id": event.id, "applied": False, "reason": "duplicate"}
            stream = await conn.fetchrow(self.q.lock_stream_by_room, room) if room else None
            if stream is None:
                return {"event_id": event.id, "applied": False, "reason": "unknown_room"}
            applied = await self._effect(conn, stream["id"], event, at)
        return {"event_id": event.id, "applied": applied, "stream_id": stream["id"]}

    async def _effect(self, conn: asyncpg.Connection, stream_id: int, event: api.WebhookEvent,
                      at: datetime.datetime) -> bool:  # fmt: skip
        kind = event.event
        if kind in STARTS:
            await conn.execute(self.q.mark_started, stream_id, at)
        elif kind in ENDS:
            await conn.execute(self.q.mark_ended, stream_id, at)
        elif kind in PRESENCE and event.HasField("participant"):
            identity = event.participant.identity
            if not identity.startswith(VIEWERS):
                return False
            await conn.execute(self.q.upsert_participant, stream_id, identity[:200], PRESENCE[kind], at)
            await conn.execute(self.q.recount_viewers, stream_id)
        else:
            return False
        return True
