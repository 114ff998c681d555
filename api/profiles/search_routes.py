"""``GET /api/search``: users or creators, ranked, in pages (an offset cursor, at most 1000 deep)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import optional_claims
from api.errors import ok
from api.inputs import parse_query
from api.openapi import doc
from api.profiles.schemas import SearchPage, SearchQuery
from api.profiles.search import search
from api.reads.service import decode_cursor, encode_cursor
from api.services import services

bp = Blueprint("search", url_prefix="/api/search")
MAX_OFFSET = 1000


@bp.get("")
@doc("Search users or creators by username prefix and words (ranked)", tag="search", response=SearchPage,
     query=SearchQuery)  # fmt: skip
async def find(request: Request) -> HTTPResponse:
    query = parse_query(request, SearchQuery)
    (offset,) = decode_cursor(query.cursor, (int,), (0,))
    offset = min(max(int(offset), 0), MAX_OFFSET)
    claims = await optional_claims(request)
    items = await search(services(request).reads, query.q, creators_only=query.kind == "creators",
                         viewer=claims.user_id if claims else None, offset=offset, limit=query.limit)  # fmt: skip
    more = len(items) >= query.limit and offset + query.limit < MAX_OFFSET
    return ok({"items": items, "next_cursor": encode_cursor(offset + query.limit) if more else None})
