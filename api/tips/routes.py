"""Tips (seed 000 paths): claps and gifts as signed intents, their status, creators' withdrawals."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_bytes32, parse_query
from api.openapi import doc, path_parameter
from api.protect.ratelimit import rate_limit
from api.reads.service import decode_cursor, encode_cursor, page, wait_for_min_block
from api.schemas import BYTES32, PageQuery
from api.services import services
from api.tips.schemas import (
    IntentBody,
    IntentData,
    IntentsPage,
    IntentsQuery,
    WithdrawalRequest,
    WithdrawBody,
    WithdrawRequestsPage,
)
from api.tips.service import intent_view
from core.chain.eip712 import KIND_CLAP, KIND_GIFT
from core.errors import NotFound

bp = Blueprint("tips", url_prefix="/api/contracts")
_NO_CURSOR = 2**62


async def _submit(request: Request, kind: int) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, IntentBody)
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    return ok(await ctx.tips.submit(request.ctx.claims.user_id, wallets, kind, body), status=201)


@bp.post("/clap")
@doc(
    "Submit a clap: an EIP-712 Intent (kind 0, token TKI) signed by one of your wallets; stored pending",
    tag="tips",
    body=IntentBody,
    response=IntentData,
    status=201,
    auth=True,
)
@authenticated()
async def clap(request: Request) -> HTTPResponse:
    return await _submit(request, KIND_CLAP)


@bp.post("/gift")
@doc(
    "Submit a gift: an EIP-712 Intent (kind 1, token TK) signed by one of your wallets; stored pending",
    tag="tips",
    body=IntentBody,
    response=IntentData,
    status=201,
    auth=True,
)
@authenticated()
async def gift(request: Request) -> HTTPResponse:
    return await _submit(request, KIND_GIFT)


@bp.get("/intents")
@doc(
    "Your intents (submitted, sent or received by your wallets), newest first, with their on-chain outcome",
    tag="tips",
    response=IntentsPage,
    query=IntentsQuery,
    auth=True,
)
@authenticated()
async def intents(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, IntentsQuery)
    (before,) = decode_cursor(query.cursor, (int,), (_NO_CURSOR,))
    await wait_for_min_block(ctx, query)
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    indexed, items = await ctx.tips.page(request.ctx.claims.user_id, wallets, query.direction, before, query.limit)
    result = page(items, query, lambda i: (i["id"],), indexed)
    for item in result["items"]:
        del item["id"]
    return ok(result)


@bp.get("/intents/<digest:str>")
@doc(
    "One of your intents by its EIP-712 digest",
    tag="tips",
    response=IntentData,
    auth=True,
    params=[path_parameter("digest", BYTES32, "the intent's EIP-712 digest")],
)
@authenticated()
async def intent(request: Request, digest: str) -> HTTPResponse:
    ctx = services(request)
    digest = parse_bytes32(digest, "digest")
    claims = request.ctx.claims
    indexed, row = await ctx.tips.get(digest)
    wallets = await ctx.accounts.wallets(claims.user_id)
    mine = row["user_id"] == claims.user_id or row["sender"] in wallets or row["receiver"] in wallets
    if not mine and claims.role != "admin":
        raise NotFound("no such intent", details={"digest": digest})
    return ok({"intent": intent_view(row, ctx.tips.tokens), "indexed_block": indexed})


@bp.post("/withdraw")
@doc(
    "Withdraw a creator's earnings: an EIP-712 Withdrawal signed by one of your wallets, sent by the relayer "
    "(idempotent per creator and nonce; the sensitive rate tier)",
    tag="tips",
    body=WithdrawBody,
    response=WithdrawalRequest,
    status=201,
    auth=True,
)
@authenticated("creator")
@rate_limit("sensitive", per="user")
async def withdraw(request: Request) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, WithdrawBody)
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    return ok(await ctx.tips.withdraw(wallets, body), status=201)


@bp.get("/withdrawals")
@doc(
    "Your wallets' withdrawal requests, newest first, with their relayer status and tx hash",
    tag="tips",
    response=WithdrawRequestsPage,
    query=PageQuery,
    auth=True,
)
@authenticated()
async def withdrawals(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    (before,) = decode_cursor(query.cursor, (int,), (_NO_CURSOR,))
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    items = await ctx.tips.withdrawals(wallets, before, query.limit)
    next_cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    return ok({"items": items, "next_cursor": next_cursor})
