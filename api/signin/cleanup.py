"""Deletes expired sign-in requests and one-time codes, periodically, in every API process (idempotent
deletes; an expired state or code is refused whether or not its row still exists)."""

from __future__ import annotations

import logging

from api.periodic import every
from api.signin.service import SignIn

log = logging.getLogger("api.signin")


async def run_signin_cleanup(signin: SignIn, interval: float, grace_s: int) -> None:
    async def round_() -> None:
        purged = await signin.purge(grace_s)
        if purged:
            log.info("deleted %d expired sign-in requests and codes", purged)

    await every(interval, round_, "sign-in cleanup")
