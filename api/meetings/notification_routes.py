"""Notifications to the signed-in user's wallets (auction won, meeting ready/extended/closed).

They are also pushed on the live feed as ``notification`` events (``?account=<wallet>``)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_query
from api.meetings.routes import parse_id, parse_optional_body
from api.meetings.schemas import ID, EmptyBody, MarkedRead, NotificationData, NotificationsPage, NotificationsQuery
from api.openapi import doc, path_parameter
from api.reads.service import FAR, decode_cursor, encode_cursor
from api.services import services
from core.errors import InvalidInput, NotFound

bp = Blueprint("notifications", url_prefix="/api/notifications")


async def _wallets(request: Request) -> list[str]:
    ctx = services(request)
    return await ctx.accounts.wallets(request.ctx.claims.user_id)


@bp.get("/")
@doc(
    "The user's notifications, newest first, with the unread count",
    tag="notifications",
    response=NotificationsPage,
    query=NotificationsQuery,
    auth=True,
)
@authenticated()
async def notifications(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, NotificationsQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    if not 0 < before <= FAR:
        raise InvalidInput("the cursor is not one this API issued")
    wallets = await _wallets(request)
    if wallets:
        await ctx.meetings.materialize(wallets)  # the notices of auctions ended while no producer ran
    items, unread = await ctx.notifications.page(wallets, before, query.unread, query.limit)
    next_cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    return ok({"items": items, "next_cursor": next_cursor, "unread": unread})


@bp.post("/<notification_id:str>/read")
@doc(
    "Mark one notification read",
    tag="notifications",
    body=EmptyBody,
    response=NotificationData,
    auth=True,
    params=[path_parameter("notification_id", ID, "the notification id")],
)
@authenticated()
async def mark_read(request: Request, notification_id: str) -> HTTPResponse:
    ctx = services(request)
    number = parse_id(notification_id, "notification_id")
    parse_optional_body(request, EmptyBody)
    notice = await ctx.notifications.mark_read(number, await _wallets(request))
    if notice is None:
        raise NotFound("no such notification of yours", details={"notification_id": number})
    return ok({"notification": notice})


@bp.post("/read-all")
@doc("Mark every notification read", tag="notifications", body=EmptyBody, response=MarkedRead, auth=True)
@authenticated()
async def mark_all_read(request: Request) -> HTTPResponse:
    ctx = services(request)
    parse_optional_body(request, EmptyBody)
    return ok({"marked": await ctx.notifications.mark_all_read(await _wallets(request))})
