"""The gift catalog (``GET /api/payment/gifts``) and its admin edit (``PUT /api/admin/gifts/{slug}``); gifts on
stream (``POST /api/payment/gift``) and the gifts sent and received (``GET /api/payment/gifts-sent``,
``/gifts-received``)."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.reads.service import decode_cursor, encode_cursor
from api.schemas import PageQuery
from api.services import services
from api.stream.schemas import Gift, GiftBody, GiftCatalog, SendGiftBody, SentGift, StreamGiftsPage
from core.errors import InvalidInput

bp = Blueprint("gifts", url_prefix="/api/payment")
admin_bp = Blueprint("admin_gifts", url_prefix="/api/admin")
SLUG = r"^[a-z0-9-]{1,32}$"
_NO_CURSOR = 2**62


@bp.get("/gifts")
@doc("The gift catalog: named gifts with their coin price", tag="stream", response=GiftCatalog)
async def catalog(request: Request) -> HTTPResponse:
    return ok({"gifts": await services(request).gifts.catalog()})


@admin_bp.put("/gifts/<slug:str>")
@doc("Admin: add or change a gift (an inactive gift leaves the catalog)", tag="stream", body=GiftBody,
     response=Gift, params=[path_parameter("slug", SLUG, "the gift's slug")], auth=True)  # fmt: skip
@authenticated("admin")
async def put_gift(request: Request, slug: str) -> HTTPResponse:
    if not re.fullmatch(SLUG, slug):
        raise InvalidInput("a gift slug is 1-32 of a-z, 0-9 and '-'", details={"slug": slug[:40]})
    body = parse_body(request, GiftBody)
    return ok(await services(request).gifts.put(slug, body.name, body.price, body.active))


@bp.post("/gift")
@doc("Give a catalog gift during a live stream: a signed gift Intent (kind 1, Coin) for exactly its price to the "
     "streaming creator, decided at once by the tip policy (409 gift_refused with the reason) and shown on the "
     "stream's live channel (/api/feed/sse?stream=); settled on chain by the relayer's batches",
     tag="stream", body=SendGiftBody, response=SentGift, status=201, auth=True)  # fmt: skip
@authenticated()
async def send_gift(request: Request) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, SendGiftBody)
    user_id = request.ctx.claims.user_id
    wallets = await ctx.accounts.wallets(user_id)
    return ok(await ctx.gifts.send(user_id, wallets, body.stream_id, body.gift, body.intent), status=201)


async def _gifts(request: Request, direction: str) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    (before,) = decode_cursor(query.cursor, (int,), (_NO_CURSOR,))
    user_id = request.ctx.claims.user_id
    wallets = await ctx.accounts.wallets(user_id)
    items = await ctx.gifts.page(user_id, wallets, direction, before, query.limit)
    next_cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    for item in items:
        del item["id"]
    return ok({"items": items, "next_cursor": next_cursor})


@bp.get("/gifts-sent")
@doc("Gifts you gave on streams, newest first, with the stream and their status", tag="stream",
     response=StreamGiftsPage, query=PageQuery, auth=True)  # fmt: skip
@authenticated()
async def gifts_sent(request: Request) -> HTTPResponse:
    return await _gifts(request, "sent")


@bp.get("/gifts-received")
@doc("Gifts your wallets received on your streams, newest first, with the stream and their status", tag="stream",
     response=StreamGiftsPage, query=PageQuery, auth=True)  # fmt: skip
@authenticated()
async def gifts_received(request: Request) -> HTTPResponse:
    return await _gifts(request, "received")
