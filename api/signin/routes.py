"""Sign-in with OpenID Connect: start (a redirect to the provider), the callback (a redirect to the app
with a one-time code in the fragment), the code's exchange for tokens, linked identities."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.auth.schemas import Tokens
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.protect.ratelimit import rate_limit
from api.schemas import Done
from api.services import services
from api.signin.schemas import CallbackQuery, ExchangeBody, Identities, LinkBody, Providers, Redirect
from api.signin.service import SignIn

bp = Blueprint("signin", url_prefix="/api/auth")
PROVIDER = path_parameter("provider", r"^[a-z0-9_-]{1,32}$", "a configured provider's name (google, ...)")


def _signin(request: Request) -> SignIn:
    ctx = services(request)
    return ctx.signin


def _redirect(location: str) -> HTTPResponse:
    response = ok({"location": location}, status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/oidc/providers")
@doc("The OpenID Connect providers one can sign in with", tag="sign-in", response=Providers)
async def providers(request: Request) -> HTTPResponse:
    return ok({"providers": _signin(request).providers()})


@bp.get("/google")
@doc("Sign in with Google: a redirect to Google's consent page", tag="sign-in", response=Redirect, status=302)
@rate_limit("auth")
async def google(request: Request) -> HTTPResponse:
    return _redirect(await _signin(request).start("google"))


@bp.get("/oidc/<provider:str>")
@doc(
    "Sign in with a provider: a redirect to its consent page",
    tag="sign-in",
    response=Redirect,
    status=302,
    params=[PROVIDER],
)
@rate_limit("auth")
async def start(request: Request, provider: str) -> HTTPResponse:
    return _redirect(await _signin(request).start(provider))


@bp.post("/oidc/<provider:str>/link")
@doc(
    "Link a provider to the signed-in account: the URL of its consent page (the callback links it)",
    tag="sign-in",
    body=LinkBody,
    response=Redirect,
    params=[PROVIDER],
    auth=True,
)
@authenticated()
@rate_limit("auth")
@rate_limit("sensitive", per="user")
async def link(request: Request, provider: str) -> HTTPResponse:
    if request.body:
        parse_body(request, LinkBody)
    return ok({"location": await _signin(request).start(provider, request.ctx.claims.user_id)})


async def _callback(request: Request, provider: str) -> HTTPResponse:
    query = parse_query(request, CallbackQuery)
    return _redirect(await _signin(request).callback(provider, query.state, query.code, query.error))


@bp.get("/google/callback")
@doc(
    "Google's redirect back: a redirect to the app with a one-time code in the URL fragment",
    tag="sign-in",
    query=CallbackQuery,
    response=Redirect,
    status=302,
)
@rate_limit("auth")
async def google_callback(request: Request) -> HTTPResponse:
    return await _callback(request, "google")


@bp.get("/oidc/<provider:str>/callback")
@doc(
    "A provider's redirect back: a redirect to the app with a one-time code in the URL fragment",
    tag="sign-in",
    query=CallbackQuery,
    response=Redirect,
    status=302,
    params=[PROVIDER],
)
@rate_limit("auth")
async def callback(request: Request, provider: str) -> HTTPResponse:
    return await _callback(request, provider)


@bp.post("/oidc/exchange")
@doc("Trade the callback's one-time code (once) for tokens", tag="sign-in", body=ExchangeBody, response=Tokens)
@rate_limit("auth")
async def exchange(request: Request) -> HTTPResponse:
    body = parse_body(request, ExchangeBody)
    return ok(await _signin(request).exchange(body.code))


@bp.get("/identities")
@doc("The identities linked to the signed-in account", tag="sign-in", response=Identities, auth=True)
@authenticated()
async def identities(request: Request) -> HTTPResponse:
    return ok({"identities": await _signin(request).identities(request.ctx.claims.user_id)})


@bp.delete("/identities/<provider:str>")
@doc(
    "Unlink a provider (never the account's last way to sign in)",
    tag="sign-in",
    response=Done,
    params=[PROVIDER],
    auth=True,
)
@authenticated()
async def unlink(request: Request, provider: str) -> HTTPResponse:
    await _signin(request).unlink(request.ctx.claims.user_id, provider)
    return ok({"done": True})
