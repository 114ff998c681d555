"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CONTENT_TYPE_LATEST
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sanic_ext import openapi

from api.errors import envelope_error, ok
from api.openapi import doc
from api.ops.metrics_auth import refusal
from api.ops.schemas import Health, Ready
from api.services import services
from core.backoff import mark
from core.db.replica import ReadRouter
from core.metrics import exposition

bp = Blueprint("ops")


@bp.get("/health")
@doc("Liveness", tag="ops", response=Health)
async def health(request: Request) -> HTTPResponse:
    return ok({"status": "ok"})


async def _check(name: str, probe: object) -> tuple[str, dict[str, object]]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe, 2.0)  # type: ignore[arg-type]
        mark(name, True)  # the dependency_up gauge follows what /ready saw
        return name, {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # noqa: BLE001 (any failure means not ready; reported, not raised)
        mark(name, False)
        return name, {"ok": False, "error": type(exc).__name__, "reason": str(exc)[:200]}


async def _replica(reads: ReadRouter) -> dict[str, object]:
    started = time.perf_counter()
    try:
        state = await asyncio.wait_for(reads.check(), 2.0)
    except Exception as exc:  # noqa: BLE001 (reported, not raised: the primary answers the reads meanwhile)
        return {"ok": False, "required": False, "serving": "primary", "error": type(exc).__name__,
                "reason": str(exc)[:200]}  # fmt: skip
    ms = round((time.perf_counter() - started) * 1000, 1)
    serving = "replica" if state["standby"] else "primary"  # a promoted standby is no replica any more
    return {"ok": state["standby"], "required": False, "serving": serving, "lag_bytes": state["lag_bytes"], "ms": ms}


@bp.get("/ready")
@doc("Readiness: Postgres, Redis and the chain answer (503 with each check if not); a read replica is reported",
     tag="ops", response=Ready)  # fmt: skip
async def ready(request: Request) -> HTTPResponse:
    ctx = services(request)
    results = dict(
        await asyncio.gather(
            _check("database", ctx.pool.fetchval("SELECT 1")),
            _check("redis", ctx.redis.ping()),
            _check("chain", ctx.rpc.block_number()),
        )
    )
    if ctx.reads.configured:  # README "Read replicas": a replica away is reported, reads fall back (still ready)
        results["replica"] = await _replica(ctx.reads)
    if all(r["ok"] for r in results.values() if r.get("required", True)):
        return ok({"status": "ready", "checks": results})
    return envelope_error(503, "not_ready", "a dependency is unreachable", {"checks": results})


@bp.get("/metrics")
@doc("Prometheus metrics, across every worker (bearer API_METRICS_TOKEN when set)", tag="ops", response=None)
@openapi.response(200, {"text/plain": str}, "Prometheus text format")
async def metrics(request: Request) -> HTTPResponse:
    refused = refusal(request.headers.get("authorization"), services(request).settings)
    return refused or raw(exposition(), content_type=CONTENT_TYPE_LATEST)
