"""Response compression (README "Small routes"): gzip for JSON bodies of at least API_COMPRESS_MIN_BYTES when
the request's ``Accept-Encoding`` accepts gzip. Streams (SSE, the feed) and WebSockets are never touched: a
streamed response has no body here. Every JSON answer says ``Vary: Accept-Encoding`` (caches keep both)."""

from __future__ import annotations

import gzip

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from api.settings import ApiSettings


def accepts_gzip(header: str) -> bool:
    """Whether ``Accept-Encoding`` accepts gzip (``gzip`` or ``*`` with a q-value above 0)."""
    offered: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            offered[name.strip().lower()] = q
    return offered.get("gzip", offered.get("x-gzip", offered.get("*", 0.0))) > 0


def install(app: Sanic, settings: ApiSettings) -> None:
    threshold = settings.compress_min_bytes

    @app.on_response(priority=-100)  # last: after every other response middleware
    async def compress(request: Request, response: HTTPResponse) -> None:
        body = getattr(response, "body", None)
        if not body or not (response.content_type or "").startswith("application/json"):
            return
        vary = response.headers.get("Vary", "")
        if "accept-encoding" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
        if len(body) < threshold or "Content-Encoding" in response.headers:
            return
        if not accepts_gzip(request.headers.get("Accept-Encoding", "")):
            return
        response.body = gzip.compress(body, compresslevel=5)
        response.headers["Content-Encoding"] = "gzip"
        response.headers.pop("Content-Length", None)
