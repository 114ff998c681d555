"""Capped exponential backoff with jitter, and a gauge per dependency the run loops wait on."""

from __future__ import annotations

import asyncio
import contextlib
import random

from prometheus_client import Gauge

DEPENDENCY_UP = Gauge(
    "dependency_up", "1 while the dependency answers, 0 while this process backs off from it", ["dependency"]
)


class Backoff:
    """``delay()`` grows ``initial * 2**n`` up to ``cap`` (±20 % jitter); ``reset()`` after a success."""

    def __init__(self, initial: float = 0.2, cap: float = 10.0) -> None:
        self.initial = initial
        self.cap = cap
        self.failures = 0

    def delay(self) -> float:
        base = min(self.cap, self.initial * 2.0 ** min(self.failures, 30))
        self.failures += 1
        jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not crypto)
        return base * jitter

    def reset(self) -> None:
        self.failures = 0

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Sleep for the next delay; return early when ``stop`` is set."""
        delay = self.delay()
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


def mark(dependency: str, up: bool) -> None:
    DEPENDENCY_UP.labels(dependency).set(1 if up else 0)
