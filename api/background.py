"""The work the API runs beside its requests, declared in one place and started/stopped by the app factory.

- ``listener``: the indexer's NOTIFY → the indexed state (``min_block`` waits, cache generations), the
  live-feed producer (the lease holder turns new blocks into feed events) and, on the lease holder,
  the materialisation of meetings from newly indexed auctions;
- ``feed_hub``: the Redis stream → the WebSocket subscribers of this process;
- ``cleanup``: expired OTPs and refresh tokens, in batches, under an advisory lock;
- ``media_cleanup``: orphaned (never confirmed) uploads past their deadline, object and row (SKIP LOCKED).
- ``signin_cleanup``: expired OpenID Connect requests and one-time sign-in codes;
- ``gift_sweep``: on-stream gifts refused or rejected on chain after their approval → ``gift_retracted``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from api.cleanup import run_cleanup
from api.live.listener import Listener
from api.services import Services
from api.signin.cleanup import run_signin_cleanup


@dataclass(frozen=True)
class Background:
    name: str
    run: Callable[[Services], Coroutine[Any, Any, None]]


def _materialize(s: Services) -> Callable[[Any, list[tuple[int, str]]], Coroutine[Any, Any, None]]:
    """The live-feed producer (lease holder) materializes the meetings of newly indexed blocks."""

    async def after_step(indexed: Any, reorgs: list[tuple[int, str]]) -> None:
        if await s.producer.is_leader():
            await s.meetings.on_indexed(indexed, reorgs)
        else:
            s.meetings.forget_watermark()

    return after_step


def _listen(s: Services) -> Coroutine[Any, Any, None]:
    return Listener(s.settings.database_url, s.store, s.state, s.producer, after_step=_materialize(s)).run()


BACKGROUND: tuple[Background, ...] = (
    Background("listener", _listen),
    Background("feed_hub", lambda s: s.hub.run()),
    Background("cleanup", lambda s: run_cleanup(s.store, s.settings.cleanup_interval, s.settings.cleanup_grace)),
    Background("media_cleanup", lambda s: s.media.run_cleanup()),
    Background(
        "signin_cleanup", lambda s: run_signin_cleanup(s.signin, s.settings.cleanup_interval, s.settings.cleanup_grace)
    ),
    Background("gift_sweep", lambda s: s.gifts.run_sweep()),
)


def start(s: Services) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(job.run(s), name=f"api:{job.name}") for job in BACKGROUND]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)
