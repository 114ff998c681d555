"""Request ids and the access log: every request gets an id, logged with each record it causes.

A client's ``X-Request-ID`` is kept when it is 1-128 characters of ``[A-Za-z0-9._:-]``, otherwise one
is generated; it is bound to the logging context (``core.logging.bind_request_id``) for the request's
life, returned in the response's ``X-Request-ID`` header and stored with any relayer request the
request enqueues (``core.queue.enqueue``), so the relayer's records of that transaction carry it too.
The access log (logger ``api.access``) names the method, the path without its query string (which
may hold tokens), the status and the duration.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

from core.logging import bind_request_id

HEADER = "X-Request-ID"
VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access = structlog.get_logger("api.access")


def request_id_from(header: str | None) -> str:
    """The client's id if it is a safe one, else a fresh one."""
    if header is not None and VALID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def install(app: Sanic) -> None:
    """Register the middleware; call it before any other request middleware so they all log with the id."""

    async def assign(request: Request) -> None:
        request.ctx.request_id = request_id_from(request.headers.get(HEADER))
        request.ctx.access_started = time.perf_counter()
        bind_request_id(request.ctx.request_id)

    async def stamp(request: Request, response: BaseHTTPResponse) -> None:
        request_id = getattr(request.ctx, "request_id", None) or request_id_from(None)
        response.headers[HEADER] = request_id
        started = getattr(request.ctx, "access_started", None)
        ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
        access.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status,
            duration_ms=ms,
            request_id=request_id,
        )
        bind_request_id(None)

    app.register_middleware(assign, "request", priority=100)
    app.register_middleware(stamp, "response", priority=-100)
