"""A creator's TipRouter withdrawals (``Withdrawn``), newest first, with their transaction hashes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.errors import ok
from api.inputs import parse_address, parse_query
from api.openapi import doc, path_parameter
from api.reads.schemas import WithdrawalsPage
from api.reads.service import BIGINT, FAR, bounded, decode_cursor, page, wait_for_min_block
from api.schemas import ADDRESS, PageQuery
from api.services import services

bp = Blueprint("withdrawals", url_prefix="/api")


@bp.get("/contracts/withdrawals/<address:str>")
@doc(
    "A creator's withdrawals from the TipRouter, newest first",
    tag="reads",
    response=WithdrawalsPage,
    query=PageQuery,
    params=[path_parameter("address", ADDRESS, "0x-prefixed creator address")],
)
async def withdrawals(request: Request, address: str) -> HTTPResponse:
    ctx = services(request)
    creator = parse_address(address)
    query = parse_query(request, PageQuery)
    before = decode_cursor(query.cursor, (BIGINT, bounded(2**31)), (FAR, 0))
    await wait_for_min_block(ctx, query)
    indexed, rows = await ctx.store.withdrawals(creator, before, query.limit)
    items = [{**dict(r), "token_name": ctx.tokens.get(r["token"])} for r in rows]
    return ok(page(items, query, lambda w: (w["block_number"], w["log_index"]), indexed))
