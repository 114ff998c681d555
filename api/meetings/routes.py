"""Meetings won in an auction (the seed's ``/api/meetings/...`` paths): list, read, redeem the pass
for access, fetch Jitsi tokens, and the seller's extend / close / access log. See api/meetings/."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.meetings.schemas import (
    ID,
    UINT,
    Access,
    AccessLog,
    CloseBody,
    ExtendBody,
    MeetingData,
    MeetingsPage,
    MeetingsQuery,
    RedeemBody,
)
from api.meetings.service import Meetings
from api.meetings.views import Caller
from api.openapi import doc, path_parameter
from api.reads.service import FAR, decode_cursor, encode_cursor
from api.services import services
from core.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

bp = Blueprint("meetings", url_prefix="/api/meetings")
MEETING = path_parameter("meeting_id", ID, "the meeting id")


def parse_optional_body(request: Request, model: type[M]) -> M:
    """A body whose fields are all optional: an empty body is ``{}``."""
    return model() if not request.body else parse_body(request, model)


def parse_id(value: str, name: str, digits: int = 18) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > digits:
        raise InvalidInput(f"{name} must be a non-negative integer", details={name: value[:80]})
    return int(value)


async def caller_and_service(request: Request) -> tuple[Caller, Meetings]:
    ctx = services(request)
    user_id = request.ctx.claims.user_id
    return Caller(user_id, await ctx.accounts.wallets(user_id)), ctx.meetings


@bp.get("/", name="my_meetings")
@bp.get("/user", name="my_meetings_seed_path")
@doc(
    "The signed-in user's meetings (as seller, winner or redeeming holder), newest first",
    tag="meetings",
    response=MeetingsPage,
    query=MeetingsQuery,
    auth=True,
)
@authenticated()
async def mine(request: Request) -> HTTPResponse:
    query = parse_query(request, MeetingsQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    if not 0 < before <= FAR:
        raise InvalidInput("the cursor is not one this API issued")
    caller, meetings = await caller_and_service(request)
    items = await meetings.mine(caller, before, query.limit)
    next_cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    return ok({"items": items, "next_cursor": next_cursor})


@bp.get("/<meeting_id:str>")
@doc("One of the user's meetings", tag="meetings", response=MeetingData, params=[MEETING], auth=True)
@authenticated()
async def one(request: Request, meeting_id: str) -> HTTPResponse:
    caller, meetings = await caller_and_service(request)
    return ok({"meeting": await meetings.get(parse_id(meeting_id, "meeting_id"), caller)})


@bp.get("/auction/<auction_id:str>")
@doc(
    "The meeting of an auction the user sold or won",
    tag="meetings",
    response=MeetingData,
    auth=True,
    params=[path_parameter("auction_id", UINT, "the auction id (uint256)")],
)
@authenticated()
async def by_auction(request: Request, auction_id: str) -> HTTPResponse:
    number = parse_id(auction_id, "auction_id", 78)
    if number >= 2**256:
        raise InvalidInput("auction_id must be a uint256")
    caller, meetings = await caller_and_service(request)
    return ok({"meeting": await meetings.by_auction(number, caller)})


@bp.post("/<meeting_id:str>/access")
@bp.post("/access/<meeting_id:str>", name="redeem_seed_path")
@doc(
    "Redeem the pass with the holder's EIP-712 signature: the relayer burns it (202 pending); once the burn "
    "is indexed, GET this path returns the Jitsi token. A burned pass cannot be redeemed again.",
    tag="meetings",
    body=RedeemBody,
    response=Access,
    status=202,
    params=[MEETING],
    auth=True,
)
@authenticated()
async def redeem(request: Request, meeting_id: str) -> HTTPResponse:
    number = parse_id(meeting_id, "meeting_id")
    body = parse_body(request, RedeemBody)
    caller, meetings = await caller_and_service(request)
    return ok(await meetings.redeem(number, caller, body.holder, body.deadline, body.signature), status=202)


@bp.get("/<meeting_id:str>/access")
@doc(
    "A fresh Jitsi token for the seller (moderator) or the admitted holder; pending while the burn is in flight",
    tag="meetings",
    response=Access,
    params=[MEETING],
    auth=True,
)
@authenticated()
async def token(request: Request, meeting_id: str) -> HTTPResponse:
    caller, meetings = await caller_and_service(request)
    return ok(await meetings.token(parse_id(meeting_id, "meeting_id"), caller))


@bp.post("/<meeting_id:str>/extend")
@doc(
    "Move the meeting's end later (seller only)",
    tag="meetings",
    body=ExtendBody,
    response=MeetingData,
    params=[MEETING],
    auth=True,
)
@authenticated()
async def extend(request: Request, meeting_id: str) -> HTTPResponse:
    number = parse_id(meeting_id, "meeting_id")
    body = parse_body(request, ExtendBody)
    caller, meetings = await caller_and_service(request)
    return ok({"meeting": await meetings.extend(number, caller, body.ends_at)})


@bp.post("/<meeting_id:str>/close")
@doc(
    "Close the meeting: no token is issued any more (seller only)",
    tag="meetings",
    body=CloseBody,
    response=MeetingData,
    params=[MEETING],
    auth=True,
)
@authenticated()
async def close(request: Request, meeting_id: str) -> HTTPResponse:
    number = parse_id(meeting_id, "meeting_id")
    body = parse_optional_body(request, CloseBody)
    caller, meetings = await caller_and_service(request)
    return ok({"meeting": await meetings.close(number, caller, body.reason)})


@bp.get("/<meeting_id:str>/log")
@doc(
    "The meeting's access log, newest first (seller only)",
    tag="meetings",
    response=AccessLog,
    params=[MEETING],
    auth=True,
)
@authenticated()
async def access_log(request: Request, meeting_id: str) -> HTTPResponse:
    caller, meetings = await caller_and_service(request)
    return ok({"items": await meetings.access_log(parse_id(meeting_id, "meeting_id"), caller, 100)})
