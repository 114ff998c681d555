"""Mints (Coin.Minted) by payment reference, and an account's mints, newest first."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.errors import ok
from api.inputs import parse_address, parse_bytes32, parse_query
from api.openapi import doc, path_parameter
from api.reads.schemas import MintData, MintsPage
from api.reads.service import FAR, decode_cursor, page, wait_for_min_block
from api.schemas import BYTES32, AccountPageQuery, ReadQuery
from api.services import services
from core.errors import NotFound

bp = Blueprint("mints", url_prefix="/api")


@bp.get("/mints/<payment_ref:str>")
@doc(
    "The mint for a payment reference (404 until it is indexed; use min_block to wait)",
    tag="reads",
    response=MintData,
    query=ReadQuery,
    params=[path_parameter("payment_ref", BYTES32, "the bytes32 payment reference")],
)
async def mint(request: Request, payment_ref: str) -> HTTPResponse:
    ctx = services(request)
    ref = parse_bytes32(payment_ref, "payment_ref")
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))
    indexed, row = await ctx.store.mint(ref)
    if row is None:
        raise NotFound("no mint with this payment reference is indexed", details={"indexed_block": indexed})
    return ok({"mint": dict(row), "indexed_block": indexed})


@bp.get("/mints")
@doc("An account's mints, newest first", tag="reads", response=MintsPage, query=AccountPageQuery)
async def mints(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, AccountPageQuery)
    before = decode_cursor(query.cursor, (int, str), (FAR, ""))
    await wait_for_min_block(ctx, query)
    indexed, rows = await ctx.store.mints_page(parse_address(query.account), before, query.limit)
    items = [dict(r) for r in rows]
    return ok(page(items, query, lambda m: (m["block_number"], m["payment_ref"]), indexed))
