"""The app factory: routes, error envelope, protection, and the resources opened around the server's life."""

from __future__ import annotations

import contextlib
import time
from contextlib import AsyncExitStack
from typing import Any

from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic_ext import openapi

from api import background, errors, read_scope, request_ids
from api.accounts import routes as admin
from api.auctions import routes as auctions
from api.auth import otp_routes as otp
from api.auth import routes as auth
from api.auto_routes import build_signals_once
from api.bodies import reject_nul_in_url
from api.content import routes as content
from api.creators import routes as creators
from api.credits import routes as credits
from api.custom_events import routes as custom_events
from api.feed import routes as feed
from api.generation import routes as generation
from api.mail import Mailer, mailer_from
from api.media import routes as media
from api.meetings import notification_routes as notifications
from api.meetings import routes as meetings
from api.ops import routes as ops
from api.payments import discount_routes as discounts
from api.payments import flag_routes as flags
from api.payments import routes as payments
from api.profiles import routes as profiles
from api.profiles import search_routes as search
from api.protect import compress, headers
from api.protect.ratelimit import client_ip
from api.reads import balances_routes as balances
from api.reads import mints_routes as mints
from api.reads import passes_routes as passes
from api.reads import transfers_routes as transfers
from api.reads import withdrawals_routes as withdrawals
from api.services import Services, open_services, services
from api.settings import ApiSettings
from api.signin import routes as signin
from api.stream import gift_routes as gifts
from api.stream import routes as stream
from api.stream import viewer_routes as viewer_stream
from api.subscriptions import routes as subscriptions
from api.tips import review_routes as intent_review
from api.tips import routes as tips
from api.tips import wallet_routes as coin_wallet
from api.verify import routes as verify

# Every domain's blueprints, in the order they are registered (and the OpenAPI document lists them).
BLUEPRINTS = (
    *(m.bp for m in (ops, balances, mints, transfers, auctions, passes, withdrawals, auth, otp, admin, feed)),
    *(m.bp for m in (meetings, notifications, custom_events, payments, discounts, credits, flags)),
    *(discounts.admin_bp, credits.admin_bp, feed.ws_bp, tips.bp, creators.bp, creators.admin_bp),
    *(stream.bp, stream.webhook_bp, viewer_stream.bp, gifts.bp, gifts.admin_bp),
    *(media.bp, profiles.viewer_bp, profiles.user_bp, profiles.social_bp, content.bp, search.bp),
    signin.bp,
    verify.bp,
    intent_review.bp,
    coin_wallet.bp,
    generation.bp,
    subscriptions.bp,
    subscriptions.admin_bp,
)

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "api_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


async def open_resources(app: Sanic) -> None:
    stack = AsyncExitStack()
    app.ctx.resources = stack
    app.ctx.services = built = await open_services(app.ctx.settings, app.ctx.mailer, stack)
    app.ctx.background = background.start(built)


async def close_resources(app: Sanic) -> None:
    await background.stop(getattr(app.ctx, "background", []))
    app.ctx.background = []
    built: Services | None = getattr(app.ctx, "services", None)
    if built is not None:
        with contextlib.suppress(RedisError):  # Redis away: the lease expires by its TTL instead
            await built.producer.release()
    stack: AsyncExitStack | None = getattr(app.ctx, "resources", None)
    if stack is not None:
        await stack.aclose()


def create_app(settings: ApiSettings, *, name: str = "creator_api", mailer: Mailer | None = None) -> Sanic:
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_UI_DEFAULT = "swagger"
    headers.configure(app, settings)  # before the first use of app.ext: sanic-ext reads CORS_* once
    app.ext.openapi.describe(
        "Creator backend API",
        version="1.0.0",
        description="Indexed chain state, accounts (email, SIWE) and a live feed. "
        'Every response is {"success": true, "data": …} or {"success": false, "error": {code, message, details}}.',
    )
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    app.ctx.settings = settings
    app.ctx.mailer = mailer or mailer_from(settings)
    errors.install(app)
    for blueprint in BLUEPRINTS:
        app.blueprint(blueprint)
    openapi.exclude(bp=feed.ws_bp)  # OpenAPI cannot describe a WebSocket

    app.before_server_start(open_resources)
    build_signals_once(app)  # sanic-ext's HEAD/OPTIONS routes without a quadratic start
    app.after_server_stop(close_resources)
    request_ids.install(app)  # README "Logs": X-Request-ID and the access log
    read_scope.install(app)  # README "Read replicas": where reads go, read-your-writes tokens
    compress.install(app, settings)  # gzip for large JSON bodies, negotiated

    @app.on_request
    async def start(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        reject_nul_in_url(request.path, request.query_string)  # bodies: api.bodies.load_json
        if request.path.startswith("/api/") and request.method != "OPTIONS":
            await services(request).limiter.hit("general", f"ip:{client_ip(request)}")

    @app.on_response
    async def observe(request: Request, response: HTTPResponse) -> None:
        route = request.route.path if request.route else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status)).inc()
        started: Any = getattr(request.ctx, "started", None)
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)

    return app
