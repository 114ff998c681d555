"""Administration: role changes (admin only)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.auth.schemas import RoleBody, User
from api.errors import ok
from api.inputs import parse_body
from api.openapi import doc
from api.services import services
from core.errors import InvalidInput

bp = Blueprint("admin", url_prefix="/api/admin")


@bp.put("/users/<user_id:str>/role")
@doc(
    "Set a user's role (user, creator, admin); it applies from their next token",
    tag="admin",
    body=RoleBody,
    response=User,
    auth=True,
)
@authenticated("admin")
async def set_role(request: Request, user_id: str) -> HTTPResponse:
    ctx = services(request)
    if not user_id.isdigit() or len(user_id) > 18:
        raise InvalidInput("user id must be a positive integer", details={"user_id": user_id[:32]})
    body = parse_body(request, RoleBody)
    return ok(await ctx.auth.set_role(int(user_id), body.role))
