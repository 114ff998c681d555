"""Following the head: one range at a time, with reorgs detected by parent hash and rolled back on proof.

:class:`Realtime` indexes the next range above the checkpoint (``sync_once``); a checkpoint whose
block the chain no longer has is a reorg only on proof (``indexer/reorg_proof.py``: a lagging node
is not one), then everything above the common ancestor is rolled back in one transaction.

:class:`HeadWatcher`: a websocket ``newHeads`` subscription wakes the indexer the moment a block
arrives; when the socket is down the indexer falls back to polling. Reorgs are detected by parent
hash here, not from the socket (anvil re-sends heads after ``anvil_reorg`` but pushes no
``removed`` logs), so a head notice only says "look now".
"""

from __future__ import annotations

import asyncio
import json
import logging

from prometheus_client import Gauge
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from indexer import reorg_proof
from indexer.blocks import Checkpoint
from indexer.metrics import HEAD, LAG
from indexer.ranges import RangeReader
from indexer.writer import ReorgDetected, Writer

log = logging.getLogger("indexer.realtime")
WS_CONNECTED = Gauge("indexer_ws_connected", "1 while the newHeads subscription is live")


class Realtime:
    def __init__(self, reader: RangeReader, writer: Writer) -> None:
        self.reader = reader
        self.writer = writer

    async def sync_once(self, target: int | None = None) -> int:
        """Index the next range up to the head; returns 0 when caught up (or waiting), >0 after progress.

        Progress is the number of blocks indexed, or 1 after a reorg rollback. A head below the
        checkpoint, or a checkpoint block the node lacks, is a lagging node: wait (``reorg_proof``).
        """
        reader, writer = self.reader, self.writer
        head = await reader.rpc.block_number()
        HEAD.set(head)
        checkpoint = await writer.checkpoint()
        if checkpoint.number > head:
            return 0  # the answering node is behind us: it proves nothing
        if (theirs := await reader.hash_at(checkpoint.number)) != checkpoint.hash:
            return int(theirs is not None and await self._handle_reorg(checkpoint))
        LAG.set(head - checkpoint.number)
        if checkpoint.number >= head:
            return 0
        start = checkpoint.number + 1
        last = head if target is None else min(head, target)
        if start > last:
            return 0
        batch = await reader.next_batch(start, last)
        if batch is None:
            return 0
        try:
            if not await writer.apply(batch, checkpoint.hash, head):
                return 0
        except ReorgDetected:
            return int(await self._handle_reorg(checkpoint))
        return batch.end - batch.start + 1

    async def _handle_reorg(self, checkpoint: Checkpoint) -> bool:
        """Roll back to the common ancestor among stored blocks, only on proof; True after a rollback."""
        stored = await self.writer.recent_blocks(checkpoint.number)
        verdict = await reorg_proof.find_ancestor(self.reader.rpc, stored)
        if not verdict.proven:
            log.info("no proof of a reorg below block %d (a lagging node?); reading again later", checkpoint.number)
            return False
        ancestor = verdict.ancestor
        if ancestor is None:
            number = max(self.writer.base_block - 1, 0)
            block_hash = await self.reader.hash_at(number)
            assert block_hash is not None
            ancestor = Checkpoint(number, block_hash)
        depth = checkpoint.number - ancestor.number
        await self.writer.rollback_to(ancestor, depth)
        log.warning("reorg: rolled back %d blocks to %d (%s)", depth, ancestor.number, ancestor.hash[:10])
        return True


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
