"""The live feed over Server-Sent Events and WebSocket, resumable from a cursor.

SSE: ``GET /api/feed/sse?cursor=<id>&account=<0x…>&stream=<stream id>`` (or the ``Last-Event-ID`` header);
each event's ``id:`` is the cursor to resume from. WebSocket: ``/api/feed/ws`` with the same
query; messages are ``{"id", "event": <type>, "data": {…}}``. See :mod:`api.live.feed`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from api.feed.schemas import FeedQuery
from api.inputs import parse_query
from api.live.feed import Entry, concerns, entry, parse_id
from api.openapi import doc
from api.services import Services, services

bp = Blueprint("feed", url_prefix="/api/feed")
ws_bp = Blueprint("feed_ws", url_prefix="/api/feed")  # excluded from OpenAPI once registered (app.py)
HEARTBEAT_S = 15.0


async def events(
    ctx: Services, cursor: str | None, account: str | None, stream: int | None = None
) -> AsyncIterator[Entry | None]:
    """The backlog after ``cursor``, then live entries (id, event, its JSON text); ``None`` is a heartbeat tick."""
    queue = ctx.hub.subscribe()
    try:
        last = parse_id(cursor) if cursor else None
        if cursor is not None:
            intact, backlog = await ctx.hub.backlog(cursor)
            if not intact:
                yield entry(cursor, {"type": "resync", "reason": "the cursor is older than the feed's history"})
            for old in backlog:
                last = parse_id(old[0])
                if concerns(old[1], account, stream):
                    yield old
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield None
                continue
            if item is None:  # this client fell too far behind: it must reconnect with its cursor
                return
            if last is not None and parse_id(item[0]) <= last:
                continue
            last = parse_id(item[0])
            if concerns(item[1], account, stream):
                yield item
    finally:
        ctx.hub.unsubscribe(queue)


def _query(request: Request) -> tuple[str | None, str | None, int | None]:
    query = parse_query(request, FeedQuery)
    cursor = query.cursor
    if cursor is None and request.headers.get("last-event-id"):
        cursor = parse_query_value(request.headers["last-event-id"])
    return cursor, query.account.lower() if query.account else None, query.stream


def parse_query_value(value: str) -> str:
    return FeedQuery.model_validate({"cursor": value}).cursor or ""


@bp.get("/sse")
@doc(
    "Live changes as Server-Sent Events (transfer, balance, block, reorg, resync; ?stream=: a stream's gifts)",
    tag="feed",
    response=None,
    query=FeedQuery,
)
@openapi.response(200, {"text/event-stream": str}, "an endless event stream")
async def sse(request: Request) -> HTTPResponse | None:
    ctx = services(request)
    cursor, account, stream = _query(request)
    response = await request.respond(
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    await response.send(": connected\n\n")
    async for item in events(ctx, cursor, account, stream):
        if item is None:
            await response.send(": ping\n\n")
            continue
        entry_id, event, data = item
        await response.send(f"id: {entry_id}\nevent: {event['type']}\ndata: {data}\n\n")
    await response.eof()
    return None


@ws_bp.websocket("/ws")
async def ws(request: Request, socket: Any) -> None:
    ctx = services(request)
    cursor, account, stream = _query(request)
    async for item in events(ctx, cursor, account, stream):
        if item is None:
            await socket.ping()
            continue
        entry_id, event, data = item
        await socket.send(f'{{"id":{json.dumps(entry_id)},"event":{json.dumps(event["type"])},"data":{data}}}')
