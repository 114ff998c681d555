"""Fixed-window rate limits in Redis, one counter per (tier, caller, window), spent in local grants.

Tiers follow the source systems: ``general`` per IP on every /api request, ``auth`` attempts
per IP on sign-in/up/refresh/OTP routes, ``purchase``, ``generation`` (5/h) and ``sensitive`` (3/15 min:
password change, account and wallet linking, payout details, withdrawals) per user. A broken Redis lets ``general`` and
``purchase`` requests through (logged: availability beats a limiter that locks everyone out; purchases
stay bounded by the ledger's own checks) but fails the ``auth`` and ``sensitive`` tiers closed with a 503: password and
one-time-code guessing must never become unlimited while Redis is away.
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

from api.domain_errors import RateLimited
from api.settings import ApiSettings
from core.errors import ServiceUnavailable

log = logging.getLogger("api.ratelimit")
FAIL_CLOSED = frozenset({"auth", "sensitive"})  # tiers that answer 503 rather than go unlimited while Redis is down
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[HTTPResponse]])


# Take up to ARGV[2] of the window's remaining ARGV[1] requests for this process, at most an
# eighth of what is left (at least one): {granted, used}. Granted 0 means the window is spent.
_TAKE = """
local limit, want = tonumber(ARGV[1]), tonumber(ARGV[2])
local used = tonumber(redis.call('get', KEYS[1]) or '0')
if used >= limit then return {0, used} end
local grant = math.min(want, math.max(1, math.floor((limit - used) / 8)))
used = redis.call('incrby', KEYS[1], grant)
if used == grant then redis.call('expire', KEYS[1], ARGV[3]) end
return {grant, used}
"""
MAX_GRANT = 64  # requests one process may take from Redis at once


def parse_rate(value: str) -> tuple[int, int]:
    if value == "0":
        return 0, 1
    limit, _, window = value.partition("/")
    return int(limit), int(window)


class RateLimiter:
    """Fixed windows counted in Redis, spent locally in small grants.

    Each process takes a *grant* of requests from the window's shared counter in Redis (one
    EVALSHA) and spends it locally without a round trip. The counter counts every granted
    request, so all processes together never admit more than the limit. A grant is at most an
    eighth of what the window has left (and ``MAX_GRANT``): near the limit grants shrink to one
    request, so the total is exact there; the cost is that requests another process was granted
    but did not use are refused here (at most a few when traffic for one caller moves between
    processes). A spent window is remembered locally until it ends: refusals cost no round trip.
    """

    def __init__(self, redis: Redis, settings: ApiSettings) -> None:
        self.redis = redis
        self.tiers = {
            "general": parse_rate(settings.rate_general),
            "auth": parse_rate(settings.rate_auth),
            "purchase": parse_rate(settings.rate_purchase),
            "generation": parse_rate(settings.rate_generation),
            "sensitive": parse_rate(settings.rate_sensitive),
        }
        self._take = redis.register_script(_TAKE)
        self._slots: dict[str, int] = {}  # tier -> its current window
        self._granted: dict[str, dict[str, int]] = {}  # tier -> caller -> requests left in this process's grant

    def _left(self, tier: str, slot: int) -> dict[str, int]:
        if self._slots.get(tier) != slot or len(self._granted.get(tier, ())) > 100_000:
            self._slots[tier], self._granted[tier] = slot, {}  # a new window: forget the old grants
        return self._granted[tier]

    async def hit(self, tier: str, who: str) -> None:
        limit, window = self.tiers[tier]
        if limit <= 0:
            return
        now = time.time()
        slot = int(now // window)
        left = self._left(tier, slot)
        remaining = left.get(who, 0)
        if remaining > 0:
            left[who] = remaining - 1
            return
        if remaining == 0:
            try:
                granted, _ = await self._take(keys=[f"rl:{tier}:{who}:{slot}"], args=[limit, MAX_GRANT, window + 1])
            except RedisError as exc:
                if tier in FAIL_CLOSED:
                    raise ServiceUnavailable(f"the {tier} rate limiter is unavailable; retry shortly") from exc
                log.warning("rate limiter unavailable, letting the request through: %s", exc)
                return
            left = self._left(tier, slot)
            if int(granted) > 0:
                left[who] = max(left.get(who, 0), 0) + int(granted) - 1
                return
            left[who] = -1  # spent until the window ends
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
            limiter: RateLimiter | None = request.app.ctx.services.limiter
            if limiter is not None:
                claims = getattr(request.ctx, "claims", None)
                who = f"user:{claims.user_id}" if per == "user" and claims is not None else f"ip:{client_ip(request)}"
                await limiter.hit(tier, who)
            return await handler(request, *args, **kwargs)

        return limited  # type: ignore[return-value]

    return decorate
