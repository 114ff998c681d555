"""What viewers call (``/api/viewer/stream/...``): a creator's stream, a viewer token, discovery.

``{username}`` is the creator's user id for now (accounts have no usernames yet)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated, optional_claims
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.reads.service import decode_cursor, encode_cursor
from api.services import services
from api.stream.discovery import FAR
from api.stream.schemas import CreatorStream, RoomToken, StreamSearchQuery, StreamsPage, StreamsQuery, TokenBody
from core.errors import InvalidInput

bp = Blueprint("viewer_stream", url_prefix="/api/viewer/stream")
USERNAME = path_parameter("username", r"^[0-9]{1,18}$", "the creator (their user id until usernames exist)")


def _creator(username: str) -> int:
    if not username.isascii() or not username.isdigit() or len(username) > 18:
        raise InvalidInput("unknown creator: use the creator's user id", details={"username": username[:64]})
    return int(username)


def _page(items: list[dict[str, object]], limit: int, key: object) -> dict[str, object]:
    return {"items": items, "next_cursor": key if len(items) >= limit else None}


@bp.get("/live")
@doc("Streams live now, most watched first", tag="viewer", response=StreamsPage, query=StreamsQuery)
async def live(request: Request) -> HTTPResponse:
    query = parse_query(request, StreamsQuery)
    after = decode_cursor(query.cursor, (int, int), (2**31, FAR))
    items = await services(request).discovery.live((after[0], after[1]), query.limit)
    key = encode_cursor(items[-1]["viewers"], items[-1]["id"]) if items else None
    return ok(_page(items, query.limit, key))


@bp.get("/recommended")
@doc("Live streams recommended (your follows first, then by viewers and followers)", tag="viewer",
     response=StreamsPage, query=StreamsQuery)  # fmt: skip
async def recommended(request: Request) -> HTTPResponse:
    query = parse_query(request, StreamsQuery)
    claims = await optional_claims(request)
    items = await services(request).discovery.recommended(claims.user_id if claims else None, query.limit)
    return ok({"items": items, "next_cursor": None})


@bp.get("/following")
@doc("Live streams of the creators you follow", tag="viewer", response=StreamsPage, query=StreamsQuery, auth=True)
@authenticated()
async def following(request: Request) -> HTTPResponse:
    query = parse_query(request, StreamsQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    items = await services(request).discovery.following(request.ctx.claims.user_id, before, query.limit)
    return ok(_page(items, query.limit, encode_cursor(items[-1]["id"]) if items else None))


@bp.get("/search")
@doc("Streams whose title or creator name matches (trigram), live first", tag="viewer", response=StreamsPage,
     query=StreamSearchQuery)  # fmt: skip
async def search(request: Request) -> HTTPResponse:
    query = parse_query(request, StreamSearchQuery)
    items = await services(request).discovery.search(query.q, query.limit)
    return ok({"items": items, "next_cursor": None})


@bp.get("/<username:str>")
@doc("A creator and their current (or latest) stream", tag="viewer", response=CreatorStream, params=[USERNAME])
async def of_creator(request: Request, username: str) -> HTTPResponse:
    return ok(await services(request).discovery.of_creator(_creator(username)))


@bp.post("/<username:str>/token")
@doc("A LiveKit token to watch (subscribe only; chat when the stream allows it). Signed in or, where the "
     "stream allows, anonymous; a viewer the creator blocked gets 403", tag="viewer", body=TokenBody,
     response=RoomToken, params=[USERNAME])  # fmt: skip
async def token(request: Request, username: str) -> HTTPResponse:
    creator_id = _creator(username)
    body = parse_body(request, TokenBody) if request.body else TokenBody()
    claims = await optional_claims(request)
    viewer = claims.user_id if claims else None
    return ok(await services(request).streams.viewer_token(creator_id, viewer, body.name))
