"""Route decorators: ``@authenticated()`` for any signed-in user, ``@authenticated("creator")`` for roles.

``admin`` passes every role check. The caller's claims land on ``request.ctx.claims``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from sanic import Request
from sanic.response import HTTPResponse

from api.auth.tokens import Claims
from api.domain_errors import Forbidden, Unauthenticated
from api.services import services

ROLES = ("user", "creator", "admin")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[HTTPResponse]])


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <access token>'", details={"reason": "invalid"})
    return token.strip()


async def optional_claims(request: Request) -> Claims | None:
    token = bearer_token(request)
    if token is None:
        return None
    ctx = services(request)
    return await ctx.auth.authenticate(token)


def authenticated(*roles: str) -> Callable[[Handler], Handler]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {unknown}")

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            claims = await optional_claims(request)
            if claims is None:
                raise Unauthenticated("sign in first", details={"reason": "missing"})
            if roles and claims.role not in roles and claims.role != "admin":
                raise Forbidden(f"this needs the role {' or '.join(roles)}", details={"role": claims.role})
            request.ctx.claims = claims
            return await handler(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
