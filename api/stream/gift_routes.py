"""The gift catalog (``GET /api/payment/gifts``) and its admin edit (``PUT /api/admin/gifts/{slug}``)."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body
from api.openapi import doc, path_parameter
from api.services import services
from api.stream.schemas import Gift, GiftBody, GiftCatalog
from core.errors import InvalidInput

bp = Blueprint("gifts", url_prefix="/api/payment")
admin_bp = Blueprint("admin_gifts", url_prefix="/api/admin")
SLUG = r"^[a-z0-9-]{1,32}$"


@bp.get("/gifts")
@doc("The gift catalog: named gifts with their coin price", tag="stream", response=GiftCatalog)
async def catalog(request: Request) -> HTTPResponse:
    return ok({"gifts": await services(request).gifts.catalog()})


@admin_bp.put("/gifts/<slug:str>")
@doc("Admin: add or change a gift (an inactive gift leaves the catalog)", tag="stream", body=GiftBody,
     response=Gift, params=[path_parameter("slug", SLUG, "the gift's slug")], auth=True)  # fmt: skip
@authenticated("admin")
async def put_gift(request: Request, slug: str) -> HTTPResponse:
    if not re.fullmatch(SLUG, slug):
        raise InvalidInput("a gift slug is 1-32 of a-z, 0-9 and '-'", details={"slug": slug[:40]})
    body = parse_body(request, GiftBody)
    return ok(await services(request).gifts.put(slug, body.name, body.price, body.active))
