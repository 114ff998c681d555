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


async def publish_notification(redis: Redis, chain_id: int, notice: dict[str, Any], maxlen: int) -> str:
    """Append one stored notification (``id, recipient, kind, meeting_id, data, created_at``); returns its stream id."""
    event = {
        "type": "notification",
        "account": notice["recipient"],
        "id": notice["id"],
        "kind": notice["kind"],
        "meeting_id": notice.get("meeting_id"),
        "data": notice.get("data") or {},
        "created_at": notice["created_at"],
    }
    entry = await redis.xadd(
        stream_key(chain_id), {"data": json.dumps(event, separators=(",", ":"))}, maxlen=maxlen, approximate=True
    )
    return entry.decode() if isinstance(entry, bytes) else str(entry)
