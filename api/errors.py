"""The one place where errors become HTTP responses, always in the JSON error envelope."""

from __future__ import annotations

import logging
from typing import Any

from asyncpg.exceptions import DataError, QueryCanceledError
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed, SanicException
from sanic.exceptions import NotFound as RouteNotFound
from sanic.response import HTTPResponse, json

from api.allow import allowed_methods
from api.domain_errors import Forbidden, NotIndexedYet, RateLimited, Unauthenticated
from core.db.outage import StatementCancelled, cancelled, is_connection_error
from core.errors import AppError, ConfigError, Conflict, InvalidInput, NotFound, RetryableError

log = logging.getLogger("api")

_STATUS: list[tuple[type[AppError], int]] = [
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
    (NotIndexedYet, 409),  # the client asked for a state the indexer has not reached: retry after 1 s
    (RetryableError, 503),
    (ConfigError, 503),  # a feature whose contract the deployment lacks
]


def envelope_error(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> HTTPResponse:
    body = {"success": False, "error": {"code": code, "message": message, "details": details or {}}}
    return json(body, status=status, headers=headers)


def ok(data: Any, status: int = 200) -> HTTPResponse:
    return json({"success": True, "data": data}, status=status)


def _sanic_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        408: "request_timeout",
        413: "payload_too_large",
        415: "unsupported_media_type",
        416: "range_not_satisfiable",
        429: "rate_limited",
        503: "unavailable",
    }.get(status, "http_error")


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """Pydantic's errors without the input echoed back (it may hold a password)."""
    return {
        "fields": [
            {"loc": ".".join(str(part) for part in err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
    }


async def handle(request: Request, exc: Exception) -> HTTPResponse:
    if isinstance(exc, QueryCanceledError):  # a statement past its statement_timeout that no service translated
        exc = cancelled()
    if isinstance(exc, AppError):
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.path, exc.message)
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, NotIndexedYet | StatementCancelled):
            headers["Retry-After"] = "1"
        elif isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return envelope_error(status, exc.code, exc.message, exc.details, headers)
    if isinstance(exc, ValidationError):
        return envelope_error(400, InvalidInput.code, "the input is malformed", validation_details(exc))
    if isinstance(exc, DataError):
        # A value the database refuses (out of range, NUL byte, bad text form) that a route did not
        # validate: still the client's input, never a 500. Logged so the missing check gets added.
        log.warning("%s %s: database refused a value: %s", request.method, request.path, type(exc).__name__)
        return envelope_error(400, InvalidInput.code, "a value is out of range or malformed")
    if isinstance(exc, RedisConnectionError | RedisTimeoutError) or is_connection_error(exc):
        # Redis (SIWE nonces, the logout denylist, the auth limiter, the feed's backlog) or Postgres is down or
        # restarting under a call that did not translate its driver errors: retry later, never a 500.
        log.warning("%s %s: unavailable: %s: %s", request.method, request.path, type(exc).__name__, exc)
        return envelope_error(503, "unavailable", "a backing service is unavailable; retry shortly", None,
                              {"Retry-After": "1"})  # fmt: skip
    if isinstance(exc, SanicException):
        status = int(exc.status_code)
        message = str(exc) if status < 500 else "internal error"
        headers = dict(exc.headers or {})
        routing = isinstance(exc, MethodNotAllowed | RouteNotFound) and not any(k.lower() == "allow" for k in headers)
        if routing and (allowed := allowed_methods(request)):  # the router knows the path under other methods
            status, message, headers["Allow"] = 405, f"{request.method} is not allowed here", ", ".join(allowed)
        return envelope_error(status, _sanic_code(status), message, None, headers)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return envelope_error(500, "internal_error", "internal error")


def install(app: Sanic) -> None:
    app.error_handler.add(Exception, handle)
