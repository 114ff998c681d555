"""Head following: a websocket ``newHeads`` subscription wakes the indexer the moment a block
arrives; when the socket is down the indexer falls back to polling. Reorgs are detected by
parent hash in the indexer itself (anvil re-sends heads after ``anvil_reorg`` but pushes no
``removed`` logs), so a head notice only says "look now".
"""

from __future__ import annotations

import asyncio
import json
import logging

from prometheus_client import Gauge
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

log = logging.getLogger("indexer.realtime")
WS_CONNECTED = Gauge("indexer_ws_connected", "1 while the newHeads subscription is live")


def ws_url_for(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url.removeprefix("https://")
    if http_url.startswith("http://"):
        return "ws://" + http_url.removeprefix("http://")
    return http_url


class HeadWatcher:
    """Sets ``wake`` on every new head pushed over the websocket; reconnects with backoff."""

    def __init__(self, url: str, wake: asyncio.Event) -> None:
        self.url = url
        self.wake = wake
        self.latest: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                async with connect(self.url, open_timeout=5, ping_interval=20, max_size=2**22) as ws:
                    await ws.send(
                        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
                    )
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if "error" in reply:
                        log.warning("newHeads not supported by %s (%s); polling only", self.url, reply["error"])
                        return
                    WS_CONNECTED.set(1)
                    backoff = 0.5
                    log.info("following new heads over %s", self.url)
                    async for message in ws:
                        head = json.loads(message).get("params", {}).get("result", {})
                        if "number" in head:
                            self.latest = int(head["number"], 16)
                        self.wake.set()
            except (OSError, TimeoutError, WebSocketException, json.JSONDecodeError) as exc:
                log.info("newHeads socket unavailable (%s); polling until it is back", type(exc).__name__)
            finally:
                WS_CONNECTED.set(0)
            try:
                await asyncio.wait_for(stop.wait(), backoff)
            except TimeoutError:
                backoff = min(backoff * 2, 30)
