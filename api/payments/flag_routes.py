"""Account flags (admin): accounts whose purchases are blocked after a refund or dispute."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.payments.schemas import ClearFlagBody, Flag, FlagsPage, FlagsQuery
from api.payments.service import Payments
from api.reads.service import FAR, decode_cursor, encode_cursor
from api.services import services
from core.errors import InvalidInput

bp = Blueprint("flags_admin", url_prefix="/api/admin")


def _payments(request: Request) -> Payments:
    ctx = services(request)
    return ctx.payments


@bp.get("/flags")
@doc(
    "Flagged accounts (open flags block purchases), newest first",
    tag="admin",
    response=FlagsPage,
    query=FlagsQuery,
    auth=True,
)
@authenticated("admin")
async def flags(request: Request) -> HTTPResponse:
    query = parse_query(request, FlagsQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    items = await _payments(request).flags(query.include_cleared, before, query.limit)
    return ok({"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None})


@bp.post("/flags/<flag_id:str>/clear")
@doc(
    "Clear a flag (the account may buy again)",
    tag="admin",
    body=ClearFlagBody,
    response=Flag,
    auth=True,
    params=[path_parameter("flag_id", r"^[0-9]{1,18}$", "the flag's id")],
)
@authenticated("admin")
async def clear(request: Request, flag_id: str) -> HTTPResponse:
    if not re.fullmatch(r"[0-9]{1,18}", flag_id):
        raise InvalidInput("flag id must be a positive integer", details={"flag_id": flag_id[:32]})
    body = parse_body(request, ClearFlagBody)
    return ok(await _payments(request).clear_flag(int(flag_id), request.ctx.claims.user_id, body.note))
