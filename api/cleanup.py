"""Deletes expired refresh tokens and email OTPs, periodically, in every API process.

Each process runs the loop; a transaction-scoped advisory lock lets one of them work at a
time (the others skip that round), and the deletes are idempotent batches, so running it
everywhere is safe. An expired token or code is refused whether or not its row still exists.
"""

from __future__ import annotations

import logging

from api.periodic import every
from api.store import ApiStore

log = logging.getLogger("api.cleanup")
BATCH = 10_000
MAX_BATCHES = 100  # per round: a large backlog is worked off over several rounds


async def cleanup_once(store: ApiStore, grace_s: float) -> dict[str, int] | None:
    """One round: batches until nothing is left (or MAX_BATCHES); None if another process holds the lock."""
    total = {"refresh_tokens": 0, "otps": 0}
    for _ in range(MAX_BATCHES):
        deleted = await store.cleanup_expired(grace_s, BATCH)
        if deleted is None:
            return None if not any(total.values()) else total
        for key, count in deleted.items():
            total[key] += count
        if max(deleted.values()) < BATCH:
            break
    return total


async def run_cleanup(store: ApiStore, interval: float, grace_s: float) -> None:
    async def round_() -> None:
        deleted = await cleanup_once(store, grace_s)
        if deleted and any(deleted.values()):
            log.info("deleted expired credentials: %s", deleted)

    await every(interval, round_, "cleanup")
