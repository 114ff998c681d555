"""The loop of the API's periodic background work: a random first delay (spreads the processes' first
rounds), then one round every ``interval`` seconds; a failed round is logged and the next one runs."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from api.live.feed import cancelling

log = logging.getLogger("api.periodic")


async def every(interval: float, work: Callable[[], Awaitable[None]], what: str) -> None:
    await asyncio.sleep(random.uniform(1, min(interval, 30)))  # noqa: S311 (not security: spreads the processes)
    while not cancelling():
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if cancelling():  # a driver may turn a cancellation into its own error
                raise asyncio.CancelledError from exc
            log.warning("%s failed: %s", what, exc)
        await asyncio.sleep(interval)
