"""A stream row as the API shows it."""

from __future__ import annotations

from typing import Any

import asyncpg


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def stream_dict(row: asyncpg.Record) -> dict[str, Any]:
    started, ended = row["started_at"], row["ended_at"]
    duration = int((ended - started).total_seconds()) if started is not None and ended is not None else None
    return {
        "id": row["id"],
        "creator_id": row["creator_id"],
        "creator_name": row.get("display_name"),
        "room": row["room"],
        "title": row["title"],
        "category": row["category"],
        "thumbnail_url": row["thumbnail_url"],
        "status": row["status"],
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "duration_seconds": duration,
        "viewers": row["viewers"],
        "peak_viewers": row["peak_viewers"],
        "chat": chat_dict(row),
    }


def chat_dict(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "enabled": row["chat_enabled"],
        "followers_only": row["chat_followers_only"],
        "slow_mode_seconds": row["chat_slow_mode"],
        "allow_anonymous": row["allow_anonymous"],
    }
