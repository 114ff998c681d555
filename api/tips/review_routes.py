"""Manual intent review (admin): pending intents with the policy's verdict; approve or refuse one ahead of
the hourly job (decided once, README "Manual intent review")."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.creators.service import parse_user_id
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.reads.service import decode_cursor, encode_cursor
from api.schemas import PageQuery
from api.services import services
from api.tips.schemas import IntentApproveBody, IntentRefuseBody, PendingIntentsPage, ReviewedIntent

bp = Blueprint("admin_intents", url_prefix="/api/admin/intents")
_id = path_parameter("intent_id", r"^[1-9][0-9]{0,17}$", "the intent's id")


@bp.get("/pending")
@doc("Pending tip intents with the approval policy's verdict now (admin)", tag="admin",
     response=PendingIntentsPage, query=PageQuery, auth=True)  # fmt: skip
@authenticated("admin")
async def pending(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    items = await ctx.review.pending(await ctx.tips.domain(), after, query.limit)
    return ok({"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None})


@bp.post("/<intent_id:str>/approve")
@doc("Approve a pending intent ahead of the hourly job (admin): 409 when decided already or when the "
     "policy refuses it for a reason an admin cannot overrule", tag="admin", body=IntentApproveBody,
     response=ReviewedIntent, params=[_id], auth=True)  # fmt: skip
@authenticated("admin")
async def approve(request: Request, intent_id: str) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, IntentApproveBody)
    domain = await ctx.tips.domain()
    return ok(await ctx.review.decide(domain, parse_user_id(intent_id), request.ctx.claims.user_id, True, body.note))


@bp.post("/<intent_id:str>/refuse")
@doc("Refuse a pending intent with a reason (admin; 409 when decided already)", tag="admin",
     body=IntentRefuseBody, response=ReviewedIntent, params=[_id], auth=True)  # fmt: skip
@authenticated("admin")
async def refuse(request: Request, intent_id: str) -> HTTPResponse:
    ctx = services(request)
    body = parse_body(request, IntentRefuseBody)
    domain = await ctx.tips.domain()
    admin = request.ctx.claims.user_id
    return ok(await ctx.review.decide(domain, parse_user_id(intent_id), admin, False, body.reason))
