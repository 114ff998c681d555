"""Discount codes: validate one for a package, list your reward codes; admins create codes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc
from api.payments.discounts import Discounts
from api.payments.schemas import (
    DiscountCode,
    DiscountCodes,
    DiscountCreateBody,
    DiscountQuote,
    DiscountValidateBody,
    ListQuery,
)
from api.reads.service import FAR, decode_cursor, encode_cursor
from api.services import services
from core.errors import NotFound

bp = Blueprint("discounts", url_prefix="/api/discount")
admin_bp = Blueprint("discounts_admin", url_prefix="/api/admin")


def _discounts(request: Request) -> Discounts:
    ctx = services(request)
    return ctx.discounts


@bp.post("/validate")
@doc(
    "Check a discount code for a package and price it (the redemption itself happens at checkout)",
    tag="discounts",
    body=DiscountValidateBody,
    response=DiscountQuote,
    auth=True,
)
@authenticated()
async def validate(request: Request) -> HTTPResponse:
    body = parse_body(request, DiscountValidateBody)
    return ok(await _discounts(request).validate(request.ctx.claims.user_id, body.code, body.package_id))


@bp.get("/my-codes")
@doc(
    "Your reward codes (one is issued after each completed purchase), newest first",
    tag="discounts",
    response=DiscountCodes,
    query=ListQuery,
    auth=True,
)
@authenticated()
async def my_codes(request: Request) -> HTTPResponse:
    query = parse_query(request, ListQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    items = await _discounts(request).codes_of(request.ctx.claims.user_id, before, query.limit)
    cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    return ok({"items": items, "next_cursor": cursor})


@bp.get("/latest-reward")
@doc("Your latest reward code (issued after a completed purchase); 404 when you have none", tag="discounts",
     response=DiscountCode, auth=True)  # fmt: skip
@authenticated()
async def latest_reward(request: Request) -> HTTPResponse:
    items = await _discounts(request).codes_of(request.ctx.claims.user_id, FAR, 1)
    if not items:
        raise NotFound("you have no reward code yet")
    return ok(items[0])


@admin_bp.post("/discount-codes")
@doc(
    "Create a discount code (admin)", tag="admin", body=DiscountCreateBody, response=DiscountCode, status=201, auth=True
)
@authenticated("admin")
async def create_code(request: Request) -> HTTPResponse:
    body = parse_body(request, DiscountCreateBody)
    return ok(await _discounts(request).create(request.ctx.claims.user_id, **body.model_dump()), status=201)
