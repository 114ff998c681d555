"""CORS allow-list (sanic-ext's CORS, configured here) and security headers on every response."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from api.settings import ApiSettings

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-site",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# JSON needs nothing; the /docs pages load their UI from a CDN, so they get no CSP.
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


def configure(app: Sanic, settings: ApiSettings) -> None:
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.CORS_ORIGINS = ",".join(settings.cors_origins)
    app.config.CORS_ALLOW_HEADERS = "authorization,content-type,last-event-id,x-min-lsn"
    app.config.CORS_EXPOSE_HEADERS = "retry-after,x-min-lsn,x-read-source"  # README "Read replicas"
    app.config.CORS_MAX_AGE = 600
    hsts = not settings.is_development

    @app.on_response(priority=-10)
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/docs"):
            response.headers.setdefault("Content-Security-Policy", _API_CSP)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
