"""Fixed-window rate limits in Redis, one counter per (tier, caller, window).

Tiers follow the source systems: ``general`` per IP on every /api request, ``auth`` attempts
per IP on sign-in/up/refresh/OTP routes, ``purchase`` per user. A broken Redis lets requests
through (logged): availability beats a limiter that locks everyone out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import Request
from sanic.response import HTTPResponse

from core.errors import RateLimited
from core.settings import ApiSettings

log = logging.getLogger("api.ratelimit")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[HTTPResponse]])


_HIT = """
local count = redis.call('incr', KEYS[1])
if count == 1 then redis.call('expire', KEYS[1], ARGV[1]) end
return count
"""


def parse_rate(value: str) -> tuple[int, int]:
    if value == "0":
        return 0, 1
    limit, _, window = value.partition("/")
    return int(limit), int(window)


class RateLimiter:
    def __init__(self, redis: Redis, settings: ApiSettings) -> None:
        self.redis = redis
        self.tiers = {
            "general": parse_rate(settings.rate_general),
            "auth": parse_rate(settings.rate_auth),
            "purchase": parse_rate(settings.rate_purchase),
        }
        self._hit = redis.register_script(_HIT)  # one round trip (EVALSHA) per counted request

    async def hit(self, tier: str, who: str) -> None:
        limit, window = self.tiers[tier]
        if limit <= 0:
            return
        now = time.time()
        slot = int(now // window)
        key = f"rl:{tier}:{who}:{slot}"
        try:
            count = await self._hit(keys=[key], args=[window + 1])
        except RedisError as exc:
            log.warning("rate limiter unavailable, letting the request through: %s", exc)
            return
        if int(count) > limit:
            retry_after = max(1, math.ceil((slot + 1) * window - now))
            raise RateLimited(
                f"too many requests ({tier}: {limit} per {window} s)", retry_after=retry_after, details={"tier": tier}
            )


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "unknown"


def rate_limit(tier: str, per: str = "ip") -> Callable[[Handler], Handler]:
    """Count the request against ``tier``, keyed by client IP or by the signed-in user."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def limited(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            limiter: RateLimiter | None = request.app.ctx.app.limiter
            if limiter is not None:
                claims = getattr(request.ctx, "claims", None)
                who = f"user:{claims.user_id}" if per == "user" and claims is not None else f"ip:{client_ip(request)}"
                await limiter.hit(tier, who)
            return await handler(request, *args, **kwargs)

        return limited  # type: ignore[return-value]

    return decorate
