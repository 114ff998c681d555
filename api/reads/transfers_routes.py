"""An account's ERC-20 transfer history (sent and received), newest first."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.errors import ok
from api.inputs import parse_address, parse_query
from api.openapi import doc
from api.reads.schemas import TransfersPage
from api.reads.service import FAR, decode_cursor, page, wait_for_min_block
from api.schemas import AccountPageQuery
from api.services import services

bp = Blueprint("transfers", url_prefix="/api")


@bp.get("/transfers")
@doc("An account's transfer history, newest first", tag="reads", response=TransfersPage, query=AccountPageQuery)
async def transfers(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, AccountPageQuery)
    account = parse_address(query.account)
    before = decode_cursor(query.cursor, (int, int), (FAR, 0))
    await wait_for_min_block(ctx, query)
    indexed, rows = await ctx.store.transfers_page(account, before, query.limit)
    items = []
    for r in rows:
        incoming, outgoing = r["receiver"] == account, r["sender"] == account
        direction = "self" if incoming and outgoing else "in" if incoming else "out"
        items.append({**dict(r), "token_name": ctx.tokens.get(r["token"]), "direction": direction})
    return ok(page(items, query, lambda t: (t["block_number"], t["log_index"]), indexed))
