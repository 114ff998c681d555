"""Meeting passes (MeetingPass NFTs won in auctions) held by an address or by the signed-in user."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_address, parse_query
from api.openapi import doc, path_parameter
from api.reads.schemas import PassesPage
from api.reads.service import UINT256, decode_cursor, page, wait_for_min_block
from api.schemas import ADDRESS, PageQuery
from api.services import services

bp = Blueprint("passes", url_prefix="/api")


async def _passes(request: Request, wallets: list[str], query: PageQuery) -> HTTPResponse:
    ctx = services(request)
    (after,) = decode_cursor(query.cursor, (UINT256,), (-1,))
    await wait_for_min_block(ctx, query)
    indexed, rows = await ctx.store.passes(wallets, after, query.limit)
    return ok(page([dict(r) for r in rows], query, lambda p: (p["token_id"],), indexed))


@bp.get("/passes/<address:str>")
@doc(
    "Meeting passes held by an address, by token id",
    tag="reads",
    response=PassesPage,
    query=PageQuery,
    params=[path_parameter("address", ADDRESS, "0x-prefixed holder address")],
)
async def passes_of(request: Request, address: str) -> HTTPResponse:
    account = parse_address(address)
    return await _passes(request, [account], parse_query(request, PageQuery))


@bp.get("/passes")
@doc(
    "Meeting passes held by the signed-in user's wallets", tag="reads", response=PassesPage, query=PageQuery, auth=True
)
@authenticated()
async def my_passes(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    return await _passes(request, await ctx.accounts.wallets(request.ctx.claims.user_id), query)
