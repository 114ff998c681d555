"""Creator verification (a user's submission, the admins' review) and payout details (masked)."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.creators.service import parse_user_id
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.protect.ratelimit import rate_limit
from api.reads.service import decode_cursor, encode_cursor
from api.schemas import PageQuery
from api.services import services
from api.tips.schemas import NoBody
from api.verify.schemas import (
    DocumentViewsPage,
    PayoutBody,
    PayoutDetails,
    Verification,
    VerificationBody,
    VerificationDetail,
    VerificationRejectBody,
    VerificationsPage,
    VerificationsQuery,
)

bp = Blueprint("verify", url_prefix="/api")
_id = path_parameter("verification_id", r"^[1-9][0-9]{0,17}$", "the verification's id")


def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if len(items) >= limit else None}


@bp.post("/verification")
@doc("Submit identity documents (media uploaded with purpose 'verification') for an admin's review; "
     "they are unreadable to you and everyone but admins from then on", tag="creators",
     body=VerificationBody, response=Verification, status=201, auth=True)  # fmt: skip
@authenticated()
async def submit(request: Request) -> HTTPResponse:
    body = parse_body(request, VerificationBody)
    return ok(await services(request).verifications.submit(request.ctx.claims.user_id, body), status=201)


@bp.get("/verification")
@doc("Your latest identity verification and its status", tag="creators", response=Verification, auth=True)
@authenticated()
async def mine(request: Request) -> HTTPResponse:
    return ok(await services(request).verifications.mine(request.ctx.claims.user_id))


@bp.get("/payout-details")
@doc("Your payout details, masked", tag="creators", response=PayoutDetails, auth=True)
@authenticated("creator")
async def payout(request: Request) -> HTTPResponse:
    return ok(await services(request).payouts.get(request.ctx.claims.user_id))


@bp.put("/payout-details")
@doc("Set your payout details (IBAN, bank account + routing number, or wallet): needs your current "
     "password; the sensitive rate tier; stored encrypted, answered masked", tag="creators",
     body=PayoutBody, response=PayoutDetails, auth=True)  # fmt: skip
@authenticated("creator")
@rate_limit("sensitive", per="user")
async def set_payout(request: Request) -> HTTPResponse:
    body = parse_body(request, PayoutBody)
    return ok(await services(request).payouts.put(request.ctx.claims.user_id, body))


# ------------------------------------------------------------------ admin
@bp.get("/admin/verifications")
@doc("Identity verifications by status (admin)", tag="admin", response=VerificationsPage,
     query=VerificationsQuery, auth=True)  # fmt: skip
@authenticated("admin")
async def verifications(request: Request) -> HTTPResponse:
    query = parse_query(request, VerificationsQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    return ok(_page(await services(request).verifications.page(query.status, after, query.limit), query.limit))


@bp.get("/admin/verifications/<verification_id:str>")
@doc("A verification with short-lived presigned reads of its documents (admin; each read is logged)",
     tag="admin", response=VerificationDetail, params=[_id], auth=True)  # fmt: skip
@authenticated("admin")
async def detail(request: Request, verification_id: str) -> HTTPResponse:
    ctx = services(request)
    return ok(await ctx.verifications.detail(parse_user_id(verification_id), request.ctx.claims.user_id))


@bp.get("/admin/verifications/<verification_id:str>/views")
@doc("The audit log of a verification: which admin read which document, when (admin)", tag="admin",
     response=DocumentViewsPage, query=PageQuery, params=[_id], auth=True)  # fmt: skip
@authenticated("admin")
async def views(request: Request, verification_id: str) -> HTTPResponse:
    query = parse_query(request, PageQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    items = await services(request).verifications.views(parse_user_id(verification_id), after, query.limit)
    return ok(_page(items, query.limit))


@bp.post("/admin/verifications/<verification_id:str>/approve")
@doc("Approve an identity verification (admin)", tag="admin", body=NoBody, response=Verification,
     params=[_id], auth=True)  # fmt: skip
@authenticated("admin")
async def approve(request: Request, verification_id: str) -> HTTPResponse:
    ctx = services(request)
    return ok(await ctx.verifications.review(parse_user_id(verification_id), request.ctx.claims.user_id, True, None))


@bp.post("/admin/verifications/<verification_id:str>/reject")
@doc("Reject an identity verification with a reason (admin)", tag="admin", body=VerificationRejectBody,
     response=Verification, params=[_id], auth=True)  # fmt: skip
@authenticated("admin")
async def reject(request: Request, verification_id: str) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, VerificationRejectBody)
    result = await ctx.verifications.review(
        parse_user_id(verification_id), request.ctx.claims.user_id, False, body.reason
    )
    return ok(result)
