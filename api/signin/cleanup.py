"""Deletes expired sign-in requests and one-time codes, periodically, in every API process (idempotent
deletes; an expired state or code is refused whether or not its row still exists)."""

from __future__ import annotations

import asyncio
import logging
import random

from api.live.feed import cancelling
from api.signin.service import SignIn

log = logging.getLogger("api.signin")


async def run_signin_cleanup(signin: SignIn, interval: float, grace_s: int) -> None:
    await asyncio.sleep(random.uniform(1, min(interval, 30)))  # noqa: S311 (spreads the processes' first rounds)
    while not cancelling():
        try:
            purged = await signin.purge(grace_s)
            if purged:
                log.info("deleted %d expired sign-in requests and codes", purged)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if cancelling():
                raise asyncio.CancelledError from exc
            log.warning("sign-in cleanup failed: %s", exc)
        await asyncio.sleep(interval)
