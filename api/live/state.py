"""This process's view of the indexer's checkpoint, moved by NOTIFY (and a 1 s poll)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from api.domain_errors import NotIndexedYet

Indexed = dict[str, Any] | None
Checkpoint = tuple[Indexed, int | None]  # the checkpoint and the primary's WAL position read after it


class IndexedState:
    def __init__(self) -> None:
        self.number: int | None = None
        self.hash: str | None = None
        # The primary's WAL position when this checkpoint was first seen: a read replica that has replayed it
        # reflects this checkpoint (README "Read replicas").
        self.lsn: int | None = None
        self._changed = asyncio.Event()

    @property
    def generation(self) -> str:
        """Names the indexed state in cache keys: any new block or reorg changes it."""
        return f"{self.number}:{self.hash}" if self.number is not None else "none"

    def update(self, indexed: Indexed, lsn: int | None = None) -> bool:
        number, hash_ = (indexed["number"], indexed["hash"]) if indexed else (None, None)
        if (number, hash_) == (self.number, self.hash):
            return False
        self.number, self.hash, self.lsn = number, hash_, lsn
        self._changed.set()
        self._changed = asyncio.Event()
        return True

    async def wait_for(self, min_block: int, within: float, refresh: Callable[[], Awaitable[Checkpoint]]) -> None:
        """Return once ``min_block`` is indexed; after ``within`` seconds raise :class:`NotIndexedYet`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if self.number is not None and self.number >= min_block:
                return
            self.update(*(await refresh()))  # NOTIFY may be late, or this process may have just started
            if self.number is not None and self.number >= min_block:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NotIndexedYet(
                    f"block {min_block} is not indexed yet; retry shortly",
                    details={"min_block": min_block, "indexed_block": self.number, "waited_s": within},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))
