"""The chaos run's lagging-provider mode (``python -m bench.chaos --lagging-provider``).

The indexer and the relayer reach the chain only through a load balancer (``tests/rpc_balancer.py``)
that sends every other request to a node lagging 0-6 blocks behind, now and then frozen for a few
seconds, as hosted RPC endpoints do. The balancer runs in a thread of its own (its own event loop),
so the chaos run's blocking calls never stall it. Before the drain the lagging node catches up;
every invariant of the run is then checked against the real node.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

from tests.rpc_balancer import Balancer

MAX_LAG = 6
FROZEN_SECONDS = (1.0, 4.0)


class LaggingProvider:
    def __init__(self, upstream: str, rng: random.Random) -> None:
        self.balancer = Balancer(upstream)
        self.rng = random.Random(rng.random())
        self.url = ""
        self.freezes = 0
        self._steady = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name="lagging-provider", daemon=True)

    def start(self) -> LaggingProvider:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the lagging provider did not start")
        return self

    def catch_up(self) -> None:
        """From now on the lagging node has every block (the drain and the checks need the head)."""
        self._steady.set()
        self.balancer.catch_up()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def figures(self) -> dict[str, Any]:
        return {"served": dict(self.balancer.served), "freezes": self.freezes}

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self.balancer.start())
        self.url = self.balancer.url
        varying = loop.create_task(self._vary())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            varying.cancel()
            loop.run_until_complete(self.balancer.stop())
            loop.close()

    async def _vary(self) -> None:
        """A new lag every 0.5-3 s; one time in five the node freezes where it is for a few seconds."""
        while not self._steady.is_set():
            if self.rng.random() < 0.2:
                self.balancer.frozen_at = await self.balancer.height()
                self.freezes += 1
                await asyncio.sleep(self.rng.uniform(*FROZEN_SECONDS))
                self.balancer.frozen_at = None
            self.balancer.lag = self.rng.randint(0, MAX_LAG)
            started = time.monotonic()
            while time.monotonic() - started < self.rng.uniform(0.5, 3.0) and not self._steady.is_set():
                await asyncio.sleep(0.1)
        self.balancer.catch_up()
