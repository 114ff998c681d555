"""The creator's stream controls (``/api/stream/...``, creators only) and LiveKit's webhook."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi.definitions import Parameter
from sanic_ext.extensions.openapi.types import Schema

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc
from api.reads.service import decode_cursor, encode_cursor
from api.services import services
from api.stream.discovery import FAR
from api.stream.schemas import (
    ChatSettings,
    DeletedIngress,
    InfoBody,
    IngressBody,
    LiveKitEvent,
    NewIngress,
    RoomToken,
    StreamCredentials,
    StreamData,
    StreamsPage,
    StreamsQuery,
    StreamStatus,
    WebhookResult,
)
from api.stream.service import Streams

bp = Blueprint("stream", url_prefix="/api/stream")
webhook_bp = Blueprint("livekit_webhook", url_prefix="/api/webhook")
CREATOR = "creator"
AUTHORIZATION = Parameter(
    "Authorization", Schema(type="string"), location="header", required=True,
    description="LiveKit's JWT (signed with the API key) whose sha256 claim is the body's",
)  # fmt: skip


def _streams(request: Request) -> Streams:
    return services(request).streams


def _me(request: Request) -> int:
    user_id: int = request.ctx.claims.user_id
    return user_id


@bp.post("/create")
@doc("Create your stream (one that has not ended per creator) and its LiveKit room", tag="stream",
     body=InfoBody, response=StreamData, status=201, auth=True)  # fmt: skip
@authenticated(CREATOR)
async def create(request: Request) -> HTTPResponse:
    body = parse_body(request, InfoBody) if request.body else InfoBody()
    made = await _streams(request).create(_me(request), body.title, body.category, body.thumbnail_url)
    return ok({"stream": made}, status=201)


@bp.get("/past")
@doc("Your ended streams with their durations, newest first", tag="stream", response=StreamsPage,
     query=StreamsQuery, auth=True)  # fmt: skip
@authenticated(CREATOR)
async def past(request: Request) -> HTTPResponse:
    query = parse_query(request, StreamsQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    items = await _streams(request).past(_me(request), before, query.limit)
    next_cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    return ok({"items": items, "next_cursor": next_cursor})


@bp.post("/ingress")
@doc("Create an RTMP or WHIP ingress for your stream; the stream key is in this answer only", tag="stream",
     body=IngressBody, response=NewIngress, status=201, auth=True)  # fmt: skip
@authenticated(CREATOR)
async def create_ingress(request: Request) -> HTTPResponse:
    body = parse_body(request, IngressBody) if request.body else IngressBody()
    return ok(await _streams(request).create_ingress(_me(request), body.kind), status=201)


@bp.delete("/ingress")
@doc("Delete your stream's ingress (its key stops working)", tag="stream", response=DeletedIngress, auth=True)
@authenticated(CREATOR)
async def delete_ingress(request: Request) -> HTTPResponse:
    return ok(await _streams(request).delete_ingress(_me(request)))


@bp.get("/info")
@doc("Your active stream", tag="stream", response=StreamData, auth=True)
@authenticated(CREATOR)
async def info(request: Request) -> HTTPResponse:
    return ok({"stream": await _streams(request).active(_me(request))})


@bp.put("/info")
@doc("Set your active stream's title, category and thumbnail", tag="stream", body=InfoBody, response=StreamData,
     auth=True)  # fmt: skip
@authenticated(CREATOR)
async def put_info(request: Request) -> HTTPResponse:
    body = parse_body(request, InfoBody)
    return ok({"stream": await _streams(request).update_info(_me(request), body.title, body.category,
                                                             body.thumbnail_url)})  # fmt: skip


@bp.get("/credentials")
@doc("Where your encoder streams to (the key was shown once)", tag="stream", response=StreamCredentials, auth=True)
@authenticated(CREATOR)
async def credentials(request: Request) -> HTTPResponse:
    return ok(await _streams(request).credentials(_me(request)))


@bp.get("/chat-settings")
@doc("Your active stream's chat settings", tag="stream", response=ChatSettings, auth=True)
@authenticated(CREATOR)
async def chat_settings(request: Request) -> HTTPResponse:
    return ok((await _streams(request).active(_me(request)))["chat"])


@bp.put("/chat-settings")
@doc("Set chat on/off, followers-only, slow mode and anonymous viewers; new viewer tokens follow them",
     tag="stream", body=ChatSettings, response=ChatSettings, auth=True)  # fmt: skip
@authenticated(CREATOR)
async def put_chat_settings(request: Request) -> HTTPResponse:
    body = parse_body(request, ChatSettings)
    return ok(await _streams(request).update_chat(_me(request), body.model_dump()))


@bp.get("/status")
@doc("Your active stream's status and viewer count", tag="stream", response=StreamStatus, auth=True)
@authenticated(CREATOR)
async def status(request: Request) -> HTTPResponse:
    s = await _streams(request).active(_me(request))
    return ok({"stream_id": s["id"], "status": s["status"], "viewers": s["viewers"],
               "peak_viewers": s["peak_viewers"], "started_at": s["started_at"]})  # fmt: skip


@bp.get("/creator-token")
@doc("A LiveKit token that publishes to your stream's room", tag="stream", response=RoomToken, auth=True)
@authenticated(CREATOR)
async def creator_token(request: Request) -> HTTPResponse:
    return ok(await _streams(request).creator_token(_me(request)))


@webhook_bp.post("/livekit")
@doc("LiveKit's webhook (signed): room/ingress started and ended, participants joined and left; each id once",
     tag="stream", body=LiveKitEvent, response=WebhookResult, params=[AUTHORIZATION])  # fmt: skip
async def livekit_webhook(request: Request) -> HTTPResponse:
    ctx = services(request)
    event = ctx.livekit.receive(request.body or b"", request.headers.get("authorization"))
    return ok(await ctx.lifecycle.apply(event))
