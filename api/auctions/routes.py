"""Meeting auctions as indexed: open ones (cached per indexed block), one with its bids (cached),
and the signed-in user's auctions as seller and as winner."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auctions.schemas import AuctionDetail, AuctionsPage, OpenAuctionsPage
from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_query
from api.openapi import doc, path_parameter
from api.reads.service import BIGINT, UINT256, cached, decode_cursor, page, parse_uint256, wait_for_min_block
from api.schemas import PageQuery, ReadQuery
from api.services import services
from core.errors import NotFound

bp = Blueprint("auctions", url_prefix="/api")
MAX_BIDS = 100
NO_ID = 2**256  # above any auction id: "no cursor yet" for newest-first pages


@bp.get("/auctions/active")
@doc(
    "Open auctions (active, ending after the indexed block's time), soonest ending first",
    tag="reads",
    response=OpenAuctionsPage,
    query=PageQuery,
)
async def active(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    after = decode_cursor(query.cursor, (BIGINT, UINT256), (-1, -1))
    await wait_for_min_block(ctx, query)

    async def build() -> dict[str, Any]:
        indexed, (as_of, rows) = await ctx.store.open_auctions(after, query.limit)
        data = page([dict(r) for r in rows], query, lambda a: (a["end_time"], a["auction_id"]), indexed)
        return {**data, "as_of": as_of}

    return await cached(ctx, f"auctions:active:{query.limit}:{query.cursor or ''}", build)


@bp.get("/auctions/<auction_id:str>")
@doc(
    "An auction and its bids (404 until it is indexed; use min_block to wait)",
    tag="reads",
    response=AuctionDetail,
    query=ReadQuery,
    params=[path_parameter("auction_id", r"^[0-9]{1,78}$", "the auction id (uint256, decimal)")],
)
async def detail(request: Request, auction_id: str) -> HTTPResponse:
    ctx = services(request)
    number = parse_uint256(auction_id, "auction_id")
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))

    async def build() -> dict[str, Any]:
        indexed, (row, bids) = await ctx.store.auction(number, MAX_BIDS)
        if row is None:
            raise NotFound("no auction with this id is indexed", details={"indexed_block": indexed})
        return {"auction": dict(row), "bids": [dict(b) for b in bids], "indexed_block": indexed}

    return await cached(ctx, f"auction:{number}", build)


async def _mine(request: Request, won: bool) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    (before,) = decode_cursor(query.cursor, (UINT256,), (NO_ID,))
    await wait_for_min_block(ctx, query)
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    read = ctx.store.auctions_won if won else ctx.store.auctions_by_seller
    indexed, rows = await read(wallets, before, query.limit)
    return ok(page([dict(r) for r in rows], query, lambda a: (a["auction_id"],), indexed))


@bp.get("/auctions/user/created")
@doc(
    "Auctions created by the signed-in user's wallets, newest first",
    tag="reads",
    response=AuctionsPage,
    query=PageQuery,
    auth=True,
)
@authenticated()
async def created(request: Request) -> HTTPResponse:
    return await _mine(request, won=False)


@bp.get("/auctions/user/won")
@doc(
    "Ended auctions won by the signed-in user's wallets, newest first",
    tag="reads",
    response=AuctionsPage,
    query=PageQuery,
    auth=True,
)
@authenticated()
async def won(request: Request) -> HTTPResponse:
    return await _mine(request, won=True)
