"""Creators: apply, admin review, public profiles, follow / block; the admin's tipping block list."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated, optional_claims
from api.creators.service import parse_user_id
from api.errors import ok
from api.inputs import parse_address, parse_body, parse_query
from api.openapi import doc, path_parameter
from api.reads.service import decode_cursor, encode_cursor, wait_for_min_block
from api.schemas import ADDRESS, PageQuery, ReadQuery
from api.services import services
from api.tips.schemas import (
    ApplicationsPage,
    ApplicationsQuery,
    ApplyBody,
    BlockAddressBody,
    BlockedAddress,
    BlockState,
    CreatorApplication,
    CreatorProfile,
    CreatorsPage,
    FollowState,
    NoBody,
    RejectBody,
)

bp = Blueprint("creators", url_prefix="/api/creators")
admin_bp = Blueprint("admin_creators", url_prefix="/api/admin")
USER_ID = r"^[1-9][0-9]{0,17}$"
_id = path_parameter("creator_id", USER_ID, "the creator's user id (for block: any user's id)")


def _page(items: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(items[-1][key]) if len(items) >= limit else None}


@bp.post("/apply")
@doc(
    "Apply to become a creator; an admin approves or rejects",
    tag="creators",
    body=ApplyBody,
    response=CreatorApplication,
    status=201,
    auth=True,
)
@authenticated()
async def apply(request: Request) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, ApplyBody)
    return ok(await ctx.creators.apply(request.ctx.claims.user_id, body), status=201)


@bp.get("")
@doc("Creators, by id", tag="creators", response=CreatorsPage, query=PageQuery)
async def creators(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    items = await ctx.creators.creators(after, query.limit)
    return ok(_page(items, query.limit, "id"))


@bp.get("/<creator_id:str>")
@doc(
    "A creator's public profile, followers, and the claps and gifts received (indexed)",
    tag="creators",
    response=CreatorProfile,
    query=ReadQuery,
    params=[_id],
)
async def profile(request: Request, creator_id: str) -> HTTPResponse:
    ctx = services(request)
    creator = parse_user_id(creator_id)
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))
    claims = await optional_claims(request)
    wallets = await ctx.accounts.wallets(creator)
    return ok(await ctx.creators.profile(creator, claims.user_id if claims else None, wallets))


async def _follow(request: Request, creator_id: str, on: bool) -> HTTPResponse:
    ctx = services(request)
    return ok(await ctx.creators.follow(request.ctx.claims.user_id, parse_user_id(creator_id), on))


@bp.post("/<creator_id:str>/follow")
@doc("Follow a creator", tag="creators", body=NoBody, response=FollowState, params=[_id], auth=True)
@authenticated()
async def follow(request: Request, creator_id: str) -> HTTPResponse:
    return await _follow(request, creator_id, True)


@bp.delete("/<creator_id:str>/follow")
@doc("Unfollow a creator", tag="creators", response=FollowState, params=[_id], auth=True)
@authenticated()
async def unfollow(request: Request, creator_id: str) -> HTTPResponse:
    return await _follow(request, creator_id, False)


async def _block(request: Request, user_id: str, on: bool) -> HTTPResponse:
    ctx = services(request)
    return ok(await ctx.creators.block(request.ctx.claims.user_id, parse_user_id(user_id), on))


@bp.post("/<creator_id:str>/block")
@doc(
    "Block a user (a creator, or a fan of yours): no follows between you, and a creator's block list makes "
    "the tip approval refuse that user's tips",
    tag="creators",
    body=NoBody,
    response=BlockState,
    params=[_id],
    auth=True,
)
@authenticated()
async def block(request: Request, creator_id: str) -> HTTPResponse:
    return await _block(request, creator_id, True)


@bp.delete("/<creator_id:str>/block")
@doc("Unblock a user", tag="creators", response=BlockState, params=[_id], auth=True)
@authenticated()
async def unblock(request: Request, creator_id: str) -> HTTPResponse:
    return await _block(request, creator_id, False)


# ------------------------------------------------------------------ admin
@admin_bp.get("/creators/applications")
@doc(
    "Creator applications by status (admin)", tag="admin", response=ApplicationsPage, query=ApplicationsQuery, auth=True
)
@authenticated("admin")
async def applications(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, ApplicationsQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    items = await ctx.creators.applications(query.status, after, query.limit)
    return ok(_page(items, query.limit, "id"))


@admin_bp.post("/creators/<user_id:str>/approve")
@doc(
    "Approve a user's creator application: profile and the creator role (from their next token)",
    tag="admin",
    body=NoBody,
    response=CreatorApplication,
    params=[path_parameter("user_id", USER_ID, "the applicant's user id")],
    auth=True,
)
@authenticated("admin")
async def approve(request: Request, user_id: str) -> HTTPResponse:
    ctx = services(request)
    return ok(await ctx.creators.review(parse_user_id(user_id), request.ctx.claims.user_id, True, None))


@admin_bp.post("/creators/<user_id:str>/reject")
@doc(
    "Reject a user's creator application with a reason",
    tag="admin",
    body=RejectBody,
    response=CreatorApplication,
    params=[path_parameter("user_id", USER_ID, "the applicant's user id")],
    auth=True,
)
@authenticated("admin")
async def reject(request: Request, user_id: str) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, RejectBody)
    return ok(await ctx.creators.review(parse_user_id(user_id), request.ctx.claims.user_id, False, body.reason))


_address = path_parameter("address", ADDRESS, "the address barred from tipping")


@admin_bp.put("/blocked-addresses/<address:str>")
@doc(
    "Bar an address from tipping (the approval policy refuses its intents)",
    tag="admin",
    body=BlockAddressBody,
    response=BlockedAddress,
    params=[_address],
    auth=True,
)
@authenticated("admin")
async def block_address(request: Request, address: str) -> HTTPResponse:
    ctx = services(request)
    account = parse_address(address)
    body = parse_body(request, BlockAddressBody)
    return ok(await ctx.creators.block_address(account, request.ctx.claims.user_id, body.reason))


@admin_bp.delete("/blocked-addresses/<address:str>")
@doc("Lift an address's tipping bar", tag="admin", response=BlockedAddress, params=[_address], auth=True)
@authenticated("admin")
async def unblock_address(request: Request, address: str) -> HTTPResponse:
    ctx = services(request)
    return ok(await ctx.creators.block_address(parse_address(address), request.ctx.claims.user_id, None))
