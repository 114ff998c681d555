"""Sign-up/in with email + password or with Ethereum (SIWE), token refresh, logout, me."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated, optional_claims
from api.auth.schemas import Credentials, LoginBody, RefreshBody, SiweNonce, SiweVerifyBody, Tokens, User
from api.auth.service import AuthService
from api.errors import ok
from api.inputs import parse_body
from api.openapi import doc
from api.protect.ratelimit import rate_limit
from api.schemas import Done
from api.services import services

bp = Blueprint("auth", url_prefix="/api/auth")


def _auth(request: Request) -> AuthService:
    ctx = services(request)
    return ctx.auth


@bp.post("/signup")
@doc("Create an account (a verification code is mailed)", tag="auth", body=Credentials, response=Tokens, status=201)
@rate_limit("auth")
async def signup(request: Request) -> HTTPResponse:
    body = parse_body(request, Credentials)
    return ok(await _auth(request).signup(body.email, body.password), status=201)


@bp.post("/login")
@doc("Sign in with email and password", tag="auth", body=LoginBody, response=Tokens)
@rate_limit("auth")
async def login(request: Request) -> HTTPResponse:
    body = parse_body(request, LoginBody)
    return ok(await _auth(request).login(body.email, body.password))


@bp.post("/refresh")
@doc(
    "Trade a refresh token for new tokens (a reused one revokes its session)",
    tag="auth",
    body=RefreshBody,
    response=Tokens,
)
@rate_limit("auth")
async def refresh(request: Request) -> HTTPResponse:
    body = parse_body(request, RefreshBody)
    return ok(await _auth(request).refresh(body.refresh_token))


@bp.post("/logout")
@doc(
    "Revoke this access token and, if given, the refresh token's session",
    tag="auth",
    body=RefreshBody,
    response=Done,
    auth=True,
)
@authenticated()
async def logout(request: Request) -> HTTPResponse:
    token = parse_body(request, RefreshBody).refresh_token if request.body else None
    await _auth(request).logout(request.ctx.claims, token)
    return ok({"done": True})


@bp.get("/me")
@doc("The signed-in account", tag="auth", response=User, auth=True)
@authenticated()
async def me(request: Request) -> HTTPResponse:
    return ok(await _auth(request).me(request.ctx.claims.user_id))


@bp.get("/siwe/nonce")
@doc("A single-use nonce for a Sign-In With Ethereum message", tag="auth", response=SiweNonce)
@rate_limit("auth")
async def siwe_nonce(request: Request) -> HTTPResponse:
    return ok(await _auth(request).siwe_nonce())


@bp.post("/siwe/verify")
@doc(
    "Sign in with a signed EIP-4361 message; with a bearer token, link the wallet to that account (then also "
    "the sensitive rate tier: a linked wallet receives the account's coins)",
    tag="auth",
    body=SiweVerifyBody,
    response=Tokens,
)
@rate_limit("auth")
async def siwe_verify(request: Request) -> HTTPResponse:
    body = parse_body(request, SiweVerifyBody)
    claims = await optional_claims(request)
    link_to = claims.user_id if claims else None
    if link_to is not None:
        await services(request).limiter.hit("sensitive", f"user:{link_to}")
    return ok(await _auth(request).siwe_sign_in(body.message, body.signature, link_to))
