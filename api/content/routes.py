"""Content (seed 002, ``/api/content``): posts, likes, comments, a user's posts, the public and personal feeds."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated, optional_claims
from api.content.schemas import (
    Comment,
    CommentBody,
    CommentsPage,
    ContentQuery,
    LikeBody,
    LikeState,
    Post,
    PostBody,
    PostsPage,
)
from api.creators.service import parse_user_id
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.reads.service import decode_cursor, encode_cursor
from api.services import services
from api.tips.schemas import NoBody

bp = Blueprint("content", url_prefix="/api/content")
ID = r"^[1-9][0-9]{0,17}$"
_post = path_parameter("post_id", ID, "a post's id")
_user = path_parameter("user_id", ID, "a user's id")


def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if len(items) >= limit else None}


async def _viewer(request: Request) -> int | None:
    claims = await optional_claims(request)
    return claims.user_id if claims else None


async def _posts(request: Request, viewer: int | None, **kind: Any) -> HTTPResponse:
    query = parse_query(request, ContentQuery)
    (before,) = decode_cursor(query.cursor, (int,), (0,))
    return ok(_page(await services(request).content.page(viewer, before, query.limit, **kind), query.limit))


@bp.get("/feed/public")
@doc("Every post, newest first (blocked authors hidden for a signed-in viewer)", tag="content",
     response=PostsPage, query=ContentQuery)  # fmt: skip
async def public_feed(request: Request) -> HTTPResponse:
    return await _posts(request, await _viewer(request))


@bp.get("/feed")
@doc("The personalised feed: followed creators and your own posts", tag="content", response=PostsPage,
     query=ContentQuery, auth=True)  # fmt: skip
@authenticated()
async def feed(request: Request) -> HTTPResponse:
    return await _posts(request, request.ctx.claims.user_id, personal=True)


@bp.get("/posts")
@doc("Your posts, newest first", tag="content", response=PostsPage, query=ContentQuery, auth=True)
@authenticated()
async def my_posts(request: Request) -> HTTPResponse:
    return await _posts(request, request.ctx.claims.user_id, author=request.ctx.claims.user_id)


@bp.get("/users/<user_id:str>/posts")
@doc("A user's posts, newest first", tag="content", response=PostsPage, query=ContentQuery, params=[_user])
async def user_posts(request: Request, user_id: str) -> HTTPResponse:
    return await _posts(request, await _viewer(request), author=parse_user_id(user_id))


@bp.post("/posts")
@doc("Publish a post", tag="content", body=PostBody, response=Post, status=201, auth=True)
@authenticated()
async def create(request: Request) -> HTTPResponse:
    body = parse_body(request, PostBody)
    return ok(await services(request).content.create(request.ctx.claims.user_id, body.body, body.media_ids), 201)


@bp.get("/posts/<post_id:str>")
@doc("One post", tag="content", response=Post, params=[_post])
async def one(request: Request, post_id: str) -> HTTPResponse:
    return ok(await services(request).content.post(parse_user_id(post_id), await _viewer(request)))


@bp.put("/posts/<post_id:str>")
@doc("Edit your post", tag="content", body=PostBody, response=Post, params=[_post], auth=True)
@authenticated()
async def update(request: Request, post_id: str) -> HTTPResponse:
    body = parse_body(request, PostBody)
    ctx = services(request)
    return ok(await ctx.content.update(request.ctx.claims.user_id, parse_user_id(post_id), body.body, body.media_ids))


@bp.delete("/posts/<post_id:str>")
@doc("Delete your post", tag="content", response=NoBody, params=[_post], auth=True)
@authenticated()
async def delete(request: Request, post_id: str) -> HTTPResponse:
    await services(request).content.delete(request.ctx.claims.user_id, parse_user_id(post_id))
    return ok({})


@bp.post("/posts/<post_id:str>/like")
@doc("Like (or with liked=false unlike) a post; idempotent, exact counts", tag="content", body=LikeBody,
     response=LikeState, params=[_post], auth=True)  # fmt: skip
@authenticated()
async def like(request: Request, post_id: str) -> HTTPResponse:
    body = parse_body(request, LikeBody) if request.body else LikeBody()
    return ok(await services(request).content.like(request.ctx.claims.user_id, parse_user_id(post_id), body.liked))


@bp.get("/posts/<post_id:str>/comments")
@doc("A post's comments, oldest first", tag="content", response=CommentsPage, query=ContentQuery, params=[_post])
async def comments(request: Request, post_id: str) -> HTTPResponse:
    query = parse_query(request, ContentQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    items = await services(request).content.comments(await _viewer(request), parse_user_id(post_id), after, query.limit)
    return ok(_page(items, query.limit))


@bp.post("/comments")
@doc("Comment on a post", tag="content", body=CommentBody, response=Comment,
     status=201, auth=True)  # fmt: skip
@authenticated()
async def comment(request: Request) -> HTTPResponse:
    body = parse_body(request, CommentBody)
    return ok(await services(request).content.comment(request.ctx.claims.user_id, body.post_id, body.body), 201)
