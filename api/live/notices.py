"""Notification events on the live feed: appended to the same Redis stream as the producer's.

A ``notification`` event (``account`` is the recipient wallet, so ``?account=`` keeps it) carries
no secret: its kind, ids and the public facts of the notice (auction, meeting id). Any process may
append one; the stream orders them with the producer's events and SSE/WS clients resume over both.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from api.live.feed import stream_key


def notification_event(notice: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "notification",
        "account": notice["recipient"],
        "id": notice["id"],
        "kind": notice["kind"],
        "meeting_id": notice.get("meeting_id"),
        "data": notice.get("data") or {},
        "created_at": notice["created_at"],
    }


async def publish_notifications(redis: Redis, chain_id: int, notices: list[dict[str, Any]], maxlen: int) -> None:
    """Append stored notifications (``id, recipient, kind, meeting_id, data, created_at``), in order, in one trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for notice in notices:
            event = json.dumps(notification_event(notice), separators=(",", ":"))
            pipe.xadd(stream_key(chain_id), {"data": event}, maxlen=maxlen, approximate=True)
        await pipe.execute()
