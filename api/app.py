"""The app factory: routes, error envelope, protection, and the resources opened around the server's life."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic_ext import openapi

from api import errors
from api.accounts import routes as admin
from api.accounts.service import Accounts
from api.auctions import routes as auctions
from api.auth import otp_routes as otp
from api.auth import routes as auth
from api.auth.service import AuthService
from api.cache import ResponseCache
from api.cleanup import run_cleanup
from api.creators import routes as creators
from api.creators.service import Creators
from api.credits import routes as credits
from api.credits.service import Ledger
from api.ctx import Context
from api.custom_events import routes as custom_events
from api.feed import routes as feed
from api.live.feed import FeedHub, FeedProducer
from api.live.listener import Listener
from api.mail import Mailer, mailer_from
from api.meetings import notification_routes as notifications
from api.meetings import routes as meetings
from api.meetings.notifications import Notifications
from api.meetings.service import QUERIES as MEETING_QUERIES
from api.meetings.service import Meetings
from api.ops import routes as ops
from api.payments import discount_routes as discounts
from api.payments import flag_routes as flags
from api.payments import routes as payments
from api.payments.discounts import Discounts
from api.payments.gateway import StripeGateway
from api.payments.service import Payments
from api.protect import headers
from api.protect.ratelimit import RateLimiter, client_ip
from api.reads import balances, mints, passes, transfers, withdrawals
from api.store import Store
from api.tips import routes as tips
from api.tips.service import Tips
from core.chain.manifest import load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.settings import ApiSettings

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "api_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


async def open_resources(app: Sanic) -> None:
    ctx: Context = app.ctx.app
    settings = ctx.settings
    ctx.manifest = load_manifest(settings.manifest_path)
    ctx.tokens = {c.address: name for name, c in ctx.manifest.erc20_tokens().items()}
    ctx.pool = await create_pool(settings.database_url, max_size=10)
    ctx.redis = Redis.from_url(settings.redis_url)
    ctx.rpc = RpcClient(settings.rpc_urls, retries=1, timeout=5.0)
    ctx.store = Store(ctx.pool, ctx.manifest.chain_id)
    ctx.accounts = Accounts(ctx.pool)
    assert ctx.mailer is not None
    ctx.auth = AuthService(settings, ctx.accounts, ctx.redis, ctx.mailer, ctx.manifest.chain_id)
    ctx.limiter = RateLimiter(ctx.redis, settings)
    ctx.cache = ResponseCache(ctx.redis, settings.cache_ttl)
    ctx.hub = FeedHub(ctx.redis, ctx.manifest.chain_id)
    ctx.producer = FeedProducer(ctx.redis, ctx.store, ctx.tokens, settings.feed_maxlen)
    ctx.tips = Tips(ctx.pool, ctx.store, ctx.rpc, ctx.manifest)
    ctx.creators = Creators(ctx.pool, ctx.store, ctx.tokens)
    chain_id = ctx.manifest.chain_id
    ctx.notifications = Notifications(ctx.pool, ctx.redis, MEETING_QUERIES, chain_id, settings.feed_maxlen)
    ctx.meetings = Meetings(
        ctx.pool,
        ctx.notifications,
        settings,
        chain_id=chain_id,
        rpc=ctx.rpc,
        pass_address=ctx.manifest.address_of("MeetingPass") or "",  # none deployed: meetings answer 503
    )
    ctx.gateway = StripeGateway(settings)
    ctx.ledger = Ledger(ctx.pool, settings.credit_hold_ttl)
    ctx.discounts = Discounts(ctx.pool)
    ctx.payments = Payments(
        ctx.pool,
        gateway=ctx.gateway,
        ledger=ctx.ledger,
        discounts=ctx.discounts,
        accounts=ctx.accounts,
        settings=settings,
    )
    listener = Listener(settings.database_url, ctx.store, ctx.state, ctx.producer, after_step=_materialize(ctx))
    ctx.tasks = [asyncio.create_task(listener.run()), asyncio.create_task(ctx.hub.run())]
    ctx.tasks.append(asyncio.create_task(run_cleanup(ctx.store, settings.cleanup_interval, settings.cleanup_grace)))


def _materialize(ctx: Context) -> Callable[[Any, list[tuple[int, str]]], Awaitable[None]]:
    """The live-feed producer (lease holder) materializes the meetings of newly indexed blocks."""

    async def after_step(indexed: Any, reorgs: list[tuple[int, str]]) -> None:
        assert ctx.producer is not None and ctx.meetings is not None
        if await ctx.producer.is_leader():
            await ctx.meetings.on_indexed(indexed, reorgs)
        else:
            ctx.meetings.forget_watermark()

    return after_step


async def close_resources(app: Sanic) -> None:
    ctx: Context = app.ctx.app
    for task in ctx.tasks:
        task.cancel()
    if ctx.tasks:
        await asyncio.wait(ctx.tasks, timeout=5)
    ctx.tasks = []
    if ctx.rpc is not None:
        await ctx.rpc.close()
    if ctx.redis is not None:
        await ctx.redis.aclose()
    if ctx.pool is not None:
        await ctx.pool.close()
    if ctx.gateway is not None:
        await ctx.gateway.close()


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
    app.ctx.app = Context(settings=settings, mailer=mailer or mailer_from(settings))
    errors.install(app)
    blueprints = (
        *(m.bp for m in (ops, balances, mints, transfers, auctions, passes, withdrawals, auth, otp, admin, feed)),
        *(m.bp for m in (meetings, notifications, custom_events, payments, discounts, credits, flags)),
        discounts.admin_bp, feed.ws_bp, tips.bp, creators.bp, creators.admin_bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.blueprint(blueprint)
    openapi.exclude(bp=feed.ws_bp)  # OpenAPI cannot describe a WebSocket

    app.before_server_start(open_resources)
    app.after_server_stop(close_resources)

    @app.on_request
    async def start(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        limiter = request.app.ctx.app.limiter
        if limiter is not None and request.path.startswith("/api/") and request.method != "OPTIONS":
            await limiter.hit("general", f"ip:{client_ip(request)}")

    @app.on_response
    async def observe(request: Request, response: HTTPResponse) -> None:
        route = request.route.path if request.route else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status)).inc()
        started: Any = getattr(request.ctx, "started", None)
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)

    return app
