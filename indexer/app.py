"""The indexing loop: follow the head, fetch logs in adaptive ranges, detect reorgs, write atomically."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import NonRetryableRpcError, RetryableError
from indexer.decode import DecodedLog, LogDecoder
from indexer.store import Checkpoint, Header, LeaderLock, Store

log = logging.getLogger("indexer")

HEAD = Gauge("indexer_chain_head_block", "Latest block number seen on the chain")
INDEXED = Gauge("indexer_indexed_block", "Latest block number written to Postgres")
LAG = Gauge("indexer_lag_blocks", "Chain head minus indexed block")
EVENTS = Counter("indexer_events_total", "Events written", ["contract", "event"])
REORGS = Counter("indexer_reorgs_total", "Reorgs handled")
REORG_DEPTH = Histogram(
    "indexer_reorg_depth_blocks", "Depth of handled reorgs", buckets=(1, 2, 3, 5, 8, 13, 21, 64, 256)
)
LEADER = Gauge("indexer_is_leader", "1 when this process holds the chain's writer lock")

_RANGE_ERRORS = ("too many", "range", "limit", "exceed", "response size")
REORG_WINDOW = 256  # blocks of hashes kept below the head for ancestor search


class Indexer:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        rpc: RpcClient,
        *,
        max_block_range: int = 2000,
        finality_depth: int = 0,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.rpc = rpc
        self.decoder = LogDecoder(manifest)
        self.addresses = manifest.addresses
        self.max_range = max_block_range
        self.range = max_block_range
        self.finality_depth = finality_depth
        self._last_progress = 0.0

    async def prepare(self) -> None:
        genesis = await self.rpc.get_block(0)
        chain_id = await self.rpc.chain_id()
        if chain_id != self.manifest.chain_id:
            raise RuntimeError(f"RPC chain id {chain_id} differs from the manifest's {self.manifest.chain_id}")
        if genesis is None or genesis["hash"].lower() != self.manifest.genesis_hash.lower():
            raise RuntimeError(
                "the RPC node's genesis differs from the deployment manifest's; redeploy or fix RPC_URLS"
            )
        if await self.store.prepare(genesis["hash"].lower()):
            log.warning("the chain was reset since the last run: dropped the rows indexed from the old chain")

    async def _start_checkpoint(self) -> Checkpoint:
        checkpoint = await self.store.checkpoint()
        if checkpoint is not None:
            return checkpoint
        start = max(self.manifest.deploy_block - 1, 0)
        block = await self.rpc.get_block(start)
        assert block is not None
        return Checkpoint(start, block["hash"].lower())

    async def sync_once(self) -> int:
        """Index the next range up to the head; returns 0 when caught up (or waiting), >0 after progress.

        Progress is the number of blocks indexed, or 1 after a reorg rollback.
        """
        head = await self.rpc.block_number()
        HEAD.set(head)
        checkpoint = await self._start_checkpoint()
        if checkpoint.number > head or await self._hash_at(checkpoint.number) != checkpoint.hash:
            await self._handle_reorg(checkpoint, head)
            return 1
        LAG.set(head - checkpoint.number)
        if checkpoint.number >= head:
            return 0
        start = checkpoint.number + 1
        end = min(head, start + self.range - 1)
        logs = await self._get_logs(start, end)
        if logs is None:
            return 0
        needed = sorted({start, end} | {int(item["blockNumber"], 16) for item in logs})
        headers = {h.number: h for h in await self._headers(needed)}
        if headers[start].parent_hash != checkpoint.hash:
            log.info("block %d no longer builds on our checkpoint: reorg", start)
            await self._handle_reorg(checkpoint, head)
            return 1
        if any(item.get("removed") or item["blockHash"].lower() != headers[int(item["blockNumber"], 16)].hash
               for item in logs):  # fmt: skip
            log.info("logs and headers disagree in %d..%d (chain moved during fetch); retrying", start, end)
            return 0
        decoded = [d for d in (self.decoder.decode(item) for item in logs) if d is not None]
        await self.store.write_batch(decoded, list(headers.values()), headers[end])
        self._count(decoded)
        INDEXED.set(end)
        LAG.set(head - end)
        self._progress(end, head)
        if end % 1000 < end - start + 1:
            await self.store.prune_blocks(head - REORG_WINDOW)
        return end - start + 1

    async def _hash_at(self, number: int) -> str | None:
        block = await self.rpc.get_block(number)
        return block["hash"].lower() if block else None

    async def _get_logs(self, start: int, end: int) -> list[dict[str, Any]] | None:
        try:
            logs: list[dict[str, Any]] = await self.rpc.call(
                "eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": self.addresses}]
            )
        except (NonRetryableRpcError, RetryableError) as exc:
            if self.range > 1 and any(word in str(exc).lower() for word in (*_RANGE_ERRORS, "timeout", "unreachable")):
                self.range = max(1, self.range // 2)
                log.info("eth_getLogs %d..%d failed (%s); range now %d", start, end, exc, self.range)
                return None
            raise
        if self.range < self.max_range:
            self.range = min(self.max_range, self.range * 2)
        return logs

    async def _headers(self, numbers: list[int]) -> list[Header]:
        headers = []
        for offset in range(0, len(numbers), 200):
            chunk = numbers[offset : offset + 200]
            blocks = await self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            if any(b is None for b in blocks):
                raise RetryableError("a block vanished while fetching headers")
            headers += [Header.from_rpc(b) for b in blocks]
        return headers

    async def _handle_reorg(self, checkpoint: Checkpoint, head: int) -> None:
        """Find the common ancestor among stored blocks and roll back to it."""
        stored = await self.store.recent_blocks(min(checkpoint.number, head), REORG_WINDOW)
        chain = await self.rpc.batch([("eth_getBlockByNumber", [hex(b.number), False]) for b in stored])
        ancestor = None
        for mine, theirs in zip(stored, chain, strict=True):
            if theirs is not None and theirs["hash"].lower() == mine.hash:
                ancestor = mine
                break
        if ancestor is None:
            number = max(self.manifest.deploy_block - 1, 0)
            block = await self.rpc.get_block(number)
            assert block is not None
            ancestor = Checkpoint(number, block["hash"].lower())
        depth = checkpoint.number - ancestor.number
        await self.store.rollback_to(ancestor)
        REORGS.inc()
        REORG_DEPTH.observe(depth)
        INDEXED.set(ancestor.number)
        log.warning("reorg: rolled back %d blocks to %d (%s)", depth, ancestor.number, ancestor.hash[:10])

    def _count(self, decoded: list[DecodedLog]) -> None:
        for item in decoded:
            EVENTS.labels(item.contract, item.event).inc()

    def _progress(self, end: int, head: int) -> None:
        now = time.monotonic()
        if now - self._last_progress >= 5 and head - end > 0:
            log.info("backfill at block %d of %d (%d behind)", end, head, head - end)
            self._last_progress = now

    async def run(self, stop: asyncio.Event, poll_interval: float, lock: LeaderLock | None = None) -> None:
        await self.prepare()
        log.info("indexing %d contracts from block %d", len(self.addresses), self.manifest.deploy_block)
        while not stop.is_set():
            if lock is not None:
                await lock.check()  # never write after losing the leader lock
            try:
                advanced = await self.sync_once()
            except RetryableError as exc:
                log.warning("retryable failure: %s", exc)
                advanced = 0
            if advanced == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_interval)


async def run_as_leader(indexer: Indexer, lock: LeaderLock, stop: asyncio.Event, poll_interval: float) -> None:
    """Wait (hot standby) until this process holds the chain's writer lock, then index."""
    waiting_logged = False
    while not stop.is_set():
        if await lock.try_acquire():
            LEADER.set(1)
            log.info("acquired the writer lock for chain %d", lock.chain_id)
            break
        if not waiting_logged:
            log.info("another indexer holds chain %d; waiting as standby", lock.chain_id)
            waiting_logged = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    if stop.is_set():
        return
    await indexer.run(stop, poll_interval, lock)
