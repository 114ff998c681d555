"""The database side of indexing: where indexing stands, committing a verified batch, rolling back.

Both pipelines write through :class:`Writer`: the historical one (``indexer/historical.py``) and
the one following the head (``indexer/realtime.py``). A batch is committed only if its first
block builds on the checkpoint's hash (else :class:`ReorgDetected`) and its logs agree with its
headers; the checkpoint moves in the same transaction as the rows (``Store.write_batch``).
"""

from __future__ import annotations

import logging

from core.chain.manifest import Manifest
from indexer.blocks import Checkpoint
from indexer.custom.sources import CustomBatch, CustomSources, StaleBatch
from indexer.metrics import EVENTS, INDEXED, LAG, REORG_DEPTH, REORGS
from indexer.ranges import Batch, RangeReader
from indexer.store import Store

log = logging.getLogger("indexer")

REORG_WINDOW = 256  # minimum blocks of hashes kept below the head for the ancestor search


class ReorgDetected(Exception):
    """The chain no longer extends the indexed blocks at this number."""


class Writer:
    def __init__(self, store: Store, reader: RangeReader, manifest: Manifest, *, finality_depth: int = 0) -> None:
        self.store = store
        self.reader = reader  # for the hash of the block before the first one indexed
        self.manifest = manifest
        self.custom: CustomSources | None = store.custom.sources if store.custom is not None else None
        self.start_block: int | None = None  # first block when nothing is indexed yet (default: base_block)
        # Block hashes kept below the head for the ancestor search: at least the unfinalized span.
        self.window = max(REORG_WINDOW, finality_depth + 1)

    @property
    def base_block(self) -> int:
        """The first block worth indexing: the deployment's, or a configured contract's start if earlier."""
        starts = [self.manifest.deploy_block] if self.manifest.contracts or not self.custom else []
        if self.custom is not None and self.custom.start_block is not None:
            starts.append(self.custom.start_block)
        return min(starts)

    async def checkpoint(self) -> Checkpoint:
        """The indexed checkpoint, or the block before the first one to index when nothing is."""
        checkpoint = await self.store.checkpoint()
        if checkpoint is not None:
            return checkpoint
        start = max((self.start_block or self.base_block) - 1, 0)
        block_hash = await self.reader.hash_at(start)
        assert block_hash is not None
        return Checkpoint(start, block_hash)

    async def apply(self, batch: Batch, parent_hash: str, head: int, *, durable: bool = True) -> bool:
        """Verify a fetched range against its parent and commit it; False if the read was inconsistent (or
        read before factory children were handed over by a history build).

        ``durable=False`` for backfill ranges far below the head (see ``Store.write_batch``).
        """
        if batch.headers[batch.start].parent_hash != parent_hash:
            log.info("block %d no longer builds on our checkpoint: reorg", batch.start)
            raise ReorgDetected(batch.start)
        if not batch.consistent():
            return False
        try:
            await self.store.write_batch(
                batch.rows, list(batch.headers.values()), batch.headers[batch.end], batch.custom, durable=durable
            )
        except StaleBatch as exc:  # read before factory children were handed over: read it again with them
            log.info("blocks %d..%d read again: %s", batch.start, batch.end, exc)
            return False
        self._count(batch.rows.counts, batch.custom)
        INDEXED.set(batch.end)
        LAG.set(max(0, head - batch.end))
        if batch.end // 1000 != (batch.start - 1) // 1000:
            await self.store.prune_blocks(head - self.window)
        return True

    async def recent_blocks(self, below: int) -> list[Checkpoint]:
        """The stored blocks at or below ``below`` within the reorg window, highest first."""
        return await self.store.recent_blocks(below, self.window)

    async def rollback_to(self, ancestor: Checkpoint, depth: int) -> None:
        await self.store.rollback_to(ancestor)
        await self.store.reload_children()
        REORGS.inc()
        REORG_DEPTH.observe(depth)
        INDEXED.set(ancestor.number)

    async def forget_unwritten_children(self) -> None:
        """After a pipeline stopped: factory children found in ranges fetched but not written are forgotten."""
        if self.custom is not None and self.custom.has_factories:
            await self.store.reload_children()

    def _count(self, counts: dict[tuple[str, str], int], custom: CustomBatch | None) -> None:
        for (contract, event), n in counts.items():
            EVENTS.labels(contract, event).inc(n)
        if custom is not None and self.custom is not None:
            for table, n in custom.counts().items():
                if spec := self.custom.tables.get(table):  # (raw undecodable rows are counted where written)
                    EVENTS.labels(spec.contract, spec.event).inc(n)
