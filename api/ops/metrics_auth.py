"""Who may read ``/metrics``: with ``API_METRICS_TOKEN`` set, a request bearing it; without, anyone in
development and nobody outside it (the counters name routes, statuses and dependencies)."""

from __future__ import annotations

import hmac

from sanic.response import HTTPResponse

from api.errors import envelope_error
from api.settings import ApiSettings


def refusal(authorization: str | None, settings: ApiSettings) -> HTTPResponse | None:
    """None when the request may read the metrics, else the error response."""
    token = settings.metrics_token.get_secret_value()
    if not token:
        if settings.is_development:
            return None
        return envelope_error(403, "metrics_disabled", "set API_METRICS_TOKEN to scrape /metrics outside development")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return envelope_error(
        401, "unauthorized", "/metrics needs the metrics bearer token", headers={"WWW-Authenticate": "Bearer"}
    )
