"""The app factory: routes, error envelope, and the resources opened around the server's life."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from api import errors
from api.ctx import Context
from api.routes import balances, ops
from api.store import Store
from core.chain.manifest import load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.settings import ApiSettings

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("api_request_seconds", "HTTP request latency", ["route"])


def create_app(settings: ApiSettings, *, name: str = "creator_api") -> Sanic:
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = 1_000_000
    app.ctx.app = Context(settings=settings)
    errors.install(app)
    app.blueprint(ops.bp)
    app.blueprint(balances.bp)

    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        ctx: Context = app.ctx.app
        ctx.manifest = load_manifest(settings.manifest_path)
        ctx.pool = await create_pool(settings.database_url, max_size=10)
        ctx.redis = Redis.from_url(settings.redis_url)
        ctx.rpc = RpcClient(settings.rpc_urls, retries=1, timeout=5.0)
        ctx.store = Store(ctx.pool, ctx.manifest.chain_id)

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        ctx: Context = app.ctx.app
        if ctx.rpc is not None:
            await ctx.rpc.close()
        if ctx.redis is not None:
            await ctx.redis.aclose()
        if ctx.pool is not None:
            await ctx.pool.close()

    @app.on_request
    async def start_timer(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @app.on_response
    async def observe(request: Request, response: HTTPResponse) -> None:
        route = request.route.path if request.route else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status)).inc()
        started = getattr(request.ctx, "started", None)
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")

    return app
