"""Profiles: the viewer's (seed 002 ``/api/viewer``, seed 003 ``/api/user``) and the social reads
(``/api/social``: followers, following, follow status, a creator by username)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated, optional_claims
from api.creators.service import parse_user_id
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.profiles.schemas import (
    USERNAME,
    AvatarBody,
    FollowStatus,
    GraphQuery,
    MyProfile,
    NamesBody,
    PasswordBody,
    PasswordChanged,
    ProfilePatch,
    PublicProfile,
    Statistics,
    UsersPage,
)
from api.protect.ratelimit import rate_limit
from api.reads.service import decode_cursor, encode_cursor
from api.services import services

viewer_bp = Blueprint("viewer", url_prefix="/api/viewer")
user_bp = Blueprint("user_profile", url_prefix="/api/user")
social_bp = Blueprint("social", url_prefix="/api/social")
_id = path_parameter("user_id", r"^[1-9][0-9]{0,17}$", "a user's id")
_username = path_parameter("username", USERNAME, "a username (any case)")


@viewer_bp.get("/me")
@viewer_bp.get("/profile", name="viewer_profile")
@doc("The signed-in user's profile", tag="profiles", response=MyProfile, auth=True)
@authenticated()
async def me(request: Request) -> HTTPResponse:
    return ok(await services(request).profiles.mine(request.ctx.claims.user_id))


@viewer_bp.patch("/profile")
@doc("Edit the profile: username, names, bio; a creator's public profile", tag="profiles",
     body=ProfilePatch, response=MyProfile, auth=True)  # fmt: skip
@authenticated()
async def edit(request: Request) -> HTTPResponse:
    body = parse_body(request, ProfilePatch)
    changes = body.model_dump(exclude_unset=True)
    return ok(await services(request).profiles.update(request.ctx.claims.user_id, changes))


@viewer_bp.post("/avatar")
@doc("Set the avatar to a confirmed avatar upload (POST /api/media/uploads, then confirm)", tag="profiles",
     body=AvatarBody, response=MyProfile, auth=True)  # fmt: skip
@authenticated()
async def avatar(request: Request) -> HTTPResponse:
    body = parse_body(request, AvatarBody)
    return ok(await services(request).profiles.set_avatar(request.ctx.claims.user_id, body.media_id))


@viewer_bp.patch("/password")
@doc("Change the password (the current one required); every other session is signed out", tag="profiles",
     body=PasswordBody, response=PasswordChanged, auth=True)  # fmt: skip
@authenticated()
@rate_limit("sensitive", per="user")
async def password(request: Request) -> HTTPResponse:
    body = parse_body(request, PasswordBody)
    ctx = services(request)
    session = await ctx.profiles.change_password(request.ctx.claims.user_id, body.current_password, body.new_password)
    await ctx.auth.logout(request.ctx.claims, None)  # this request's access token goes too
    return ok(session)


@user_bp.get("/profile")
@doc("The signed-in user's profile (seed 003)", tag="profiles", response=MyProfile, auth=True)
@authenticated()
async def user_profile(request: Request) -> HTTPResponse:
    return ok(await services(request).profiles.mine(request.ctx.claims.user_id))


@user_bp.put("/profile")
@doc("Set first and last name (seed 003)", tag="profiles", body=NamesBody, response=MyProfile, auth=True)
@authenticated()
async def put_names(request: Request) -> HTTPResponse:
    body = parse_body(request, NamesBody)
    return ok(await services(request).profiles.update(request.ctx.claims.user_id, body.model_dump()))


@user_bp.get("/statistics")
@doc("What the account has done: follows, followers, tips, wallets, media", tag="profiles",
     response=Statistics, auth=True)  # fmt: skip
@authenticated()
async def statistics(request: Request) -> HTTPResponse:
    return ok(await services(request).profiles.statistics(request.ctx.claims.user_id))


async def _graph(request: Request, kind: str, user_id: str) -> HTTPResponse:
    query = parse_query(request, GraphQuery)
    (after,) = decode_cursor(query.cursor, (int,), (0,))
    claims = await optional_claims(request)
    ctx = services(request)
    items = await ctx.profiles.graph(kind, parse_user_id(user_id), claims.user_id if claims else None,
                                     after, query.limit)  # fmt: skip
    more = len(items) >= query.limit
    return ok({"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if more else None})


@social_bp.get("/followers/<user_id:str>")
@doc("A user's followers, by id", tag="social", response=UsersPage, query=GraphQuery, params=[_id])
async def followers(request: Request, user_id: str) -> HTTPResponse:
    return await _graph(request, "followers", user_id)


@social_bp.get("/following/<user_id:str>")
@doc("Whom a user follows, by id", tag="social", response=UsersPage, query=GraphQuery, params=[_id])
async def following(request: Request, user_id: str) -> HTTPResponse:
    return await _graph(request, "following", user_id)


@social_bp.get("/follow/<user_id:str>")
@doc("Follow status between the viewer and a user", tag="social", response=FollowStatus, params=[_id], auth=True)
@authenticated()
async def follow_status(request: Request, user_id: str) -> HTTPResponse:
    return ok(await services(request).profiles.follow_state(request.ctx.claims.user_id, parse_user_id(user_id)))


@social_bp.get("/creator/<username:str>")
@doc("A creator's public profile by username (any case)", tag="social", response=PublicProfile, params=[_username])
async def by_username(request: Request, username: str) -> HTTPResponse:
    return ok(await services(request).profiles.by_username(username, creator=True))
