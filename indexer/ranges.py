"""Reading ranges: a block range's logs (adaptive ``eth_getLogs``), its headers, checked complete and
decoded into a :class:`Batch` — everything the fetch side does, with no database.

:class:`RangeReader` holds what it reads with (the RPC client, the one ABI codec's decoder, the
row builder, the configured contracts) and its own range state: the span of the next request
grows while answers stay small and shrinks on refusals and timeouts (``RangeState``). The
historical pipeline runs it in a forked worker (``indexer/fetcher.py``), which sends the state
back with every batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.chain.rpc import RpcClient
from core.errors import RequestTooLarge, RetryableError
from indexer import completeness
from indexer.blocks import Header
from indexer.custom.sources import CustomBatch, CustomSources, block_times
from indexer.decode import LogDecoder
from indexer.rows import BatchRows, RowBuilder

log = logging.getLogger("indexer")

FIRST_RANGE = 64  # start small and grow: the right range depends on event density, unknown up front
AHEAD = 2  # ranges whose logs are asked for ahead of the one being decoded (backfill)


@dataclass(frozen=True)
class Batch:
    start: int
    end: int
    logs: list[dict[str, Any]]
    headers: dict[int, Header]
    rows: BatchRows  # decoded and prepared for writing
    custom: CustomBatch | None = None

    def consistent(self) -> bool:
        """Every log is from the block whose header was fetched (False: the chain moved during the fetch)."""
        headers = self.headers
        if any(
            item.get("removed") or item["blockHash"].lower() != headers[int(item["blockNumber"], 16)].hash
            for item in self.logs
        ):
            log.info("logs and headers disagree in %d..%d (chain moved during fetch); retrying", self.start, self.end)
            return False
        return True


@dataclass(frozen=True)
class RangeState:
    """The span of the next ``eth_getLogs`` and the most any provider accepts (learned from a refusal)."""

    range: int
    max_range: int


class RangeReader:
    def __init__(
        self,
        rpc: RpcClient,
        decoder: LogDecoder,
        rows: RowBuilder,
        addresses: list[str],
        custom: CustomSources | None = None,
        *,
        max_block_range: int = 2000,
        target_logs: int = 5000,
        near_head: int = completeness.NEAR_HEAD,
    ) -> None:
        self.rpc = rpc
        self.decoder = decoder
        self.rows = rows
        self.custom = custom
        self.state = RangeState(min(max_block_range, FIRST_RANGE), max_block_range)
        self.target_logs = target_logs
        self.near_head = near_head  # blocks below the head read block by block, by hash (0: none)
        self._addresses = addresses
        # The last range read had logs in at least half of its blocks: the next one asks for every header
        # with its logs (``completeness.read_range``), as nearly all of them are needed.
        self.dense = False
        # The next ranges' logs, asked for ahead, in block order: (start, end, addresses, task) (``_read_ahead``)
        self._ahead: list[tuple[int, int, tuple[str, ...], asyncio.Task[completeness.RangeRead | None]]] = []

    @property
    def addresses(self) -> list[str]:
        return self._addresses + (self.custom.addresses() if self.custom else [])

    async def hash_at(self, number: int) -> str | None:
        block = await self.rpc.get_block(number)
        return block["hash"].lower() if block else None

    async def next_batch(self, start: int, last: int, *, ahead: bool = False) -> Batch | None:
        """The next range from ``start``, at most the current span and never past ``last``.

        ``ahead`` (backfill): once this range's logs are in, the next range's are asked for while this one
        is checked and decoded, so the node works while this process does (see ``_read_ahead``)."""
        return await self.read(start, min(last, start + self.state.range - 1), ahead_to=last if ahead else None)

    async def read(self, start: int, end: int, *, ahead_to: int | None = None) -> Batch | None:
        """Logs and the needed headers of ``start..end``, decoded; None when the range had to shrink."""
        # The generation before the addresses: children handed over while this range is read are missing
        # from it, and the batch then counts as read before them (``CustomSources.follow``).
        generation = self.custom.generation if self.custom is not None else 0
        addresses = self.addresses
        end = completeness.clamp(self.rpc, start, end, self.near_head)
        taken = self._take_ahead(start, ahead_to, addresses)
        if taken is not None:
            end, task = taken
            read = await task
        else:
            read = await self.read_logs(start, end, addresses)
        if read is None:
            return None
        end = self._cut(read, start, end)
        if ahead_to is not None and end < ahead_to:
            self._read_ahead(end + 1, ahead_to, addresses)
        logs = read.logs
        custom = None
        if self.custom is not None:
            custom = CustomBatch(generation=generation)
            if self.custom.has_factories and (children := self.custom.discover(logs)):
                # Children announced in this range were not in the filter: fetch their logs too.
                custom.children = children
                self.custom.add_children(children)
                known = set(addresses)
                if new := sorted({c.address for c in children} - known):
                    extra = await self.read_logs(start, end, new, adapt=False)
                    if extra is None:
                        return None
                    addresses = addresses + new
                    read.blocks |= extra.blocks
                    read.by_hash &= extra.by_hash
                    logs = sorted(logs + extra.logs, key=lambda g: (int(g["blockNumber"], 16), int(g["logIndex"], 16)))
        needed = sorted({start, end} | {int(item["blockNumber"], 16) for item in logs})
        read.blocks |= await completeness.headers(self.rpc, [n for n in needed if n not in read.blocks])
        await completeness.confirm_empty(self.rpc, read, completeness.suspects(read, logs, addresses), addresses)
        headers = {n: Header.from_rpc(read.blocks[n]) for n in needed}
        if custom is not None and self.custom is not None:  # every block with a log has its header: its time
            custom.rows = self.custom.decode(logs, block_times({n: h.timestamp for n, h in headers.items()}))
        decoded = [d for d in (self.decoder.decode(item) for item in logs) if d is not None]
        return Batch(start, end, logs, headers, self.rows.batch(decoded), custom)

    def _read_ahead(self, start: int, last: int, addresses: list[str]) -> None:
        """Keep the logs of the ``AHEAD`` ranges from ``start`` asked for (tasks); ``read`` takes the first
        answer if it starts there with the same addresses, else every one is dropped. Their spans are the
        ones the current state gives, and each adapts the state when it completes, as a read in turn would.
        Two in flight: one round trip of the node's latency overlaps the other's transfer."""
        if self._ahead and (self._ahead[0][0] != start or self._ahead[0][2] != tuple(addresses)):
            self.forget_ahead()
        after = self._ahead[-1][1] + 1 if self._ahead else start
        while len(self._ahead) < AHEAD and after <= last:
            end = completeness.clamp(self.rpc, after, min(last, after + self.state.range - 1), self.near_head)
            task = asyncio.create_task(self.read_logs(after, end, addresses))
            self._ahead.append((after, end, tuple(addresses), task))
            after = end + 1

    def _take_ahead(
        self, start: int, last: int | None, addresses: list[str]
    ) -> tuple[int, asyncio.Task[completeness.RangeRead | None]] | None:
        if not self._ahead:
            return None
        first, end, asked, task = self._ahead[0]
        if last is not None and first == start and end <= last and asked == tuple(addresses):
            self._ahead.pop(0)
            return end, task
        self.forget_ahead()
        return None

    def forget_ahead(self) -> None:
        """Drop the reads ahead (the pipeline stopped, or it read elsewhere)."""
        for *_, task in self._ahead:
            _drop(task)
        self._ahead = []

    def _cut(self, read: completeness.RangeRead, start: int, end: int) -> int:
        """A range whose answer far exceeds ``target_logs`` (the first span on a dense chain: 64 blocks of
        1,000 events) keeps only its first blocks, up to the one with log number ``target_logs``: decoding,
        the batch and its COPY stay bounded; the rest is read again with the narrowed span. The answer still
        covers the kept blocks (the node had the whole range); their headers are the ones checked."""
        logs = read.logs
        if len(logs) <= 2 * self.target_logs or end == start:
            return end
        cut = max(start, int(logs[self.target_logs - 1]["blockNumber"], 16))
        if cut >= end:
            return end
        read.logs = [item for item in logs if int(item["blockNumber"], 16) <= cut]
        read.blocks = {n: block for n, block in read.blocks.items() if n <= cut}
        read.by_hash = {n for n in read.by_hash if n <= cut}
        return cut

    async def block_times(self, numbers: list[int]) -> dict[int, datetime]:
        """The times of blocks ``numbers`` (their headers, read in batches)."""
        found = await completeness.headers(self.rpc, numbers)
        return block_times({n: int(block["timestamp"], 16) for n, block in found.items()})

    async def get_logs(
        self, start: int, end: int, addresses: list[str], *, adapt: bool = True
    ) -> list[dict[str, Any]] | None:
        read = await self.read_logs(start, end, addresses, adapt=adapt)
        return None if read is None else read.logs

    async def read_logs(
        self, start: int, end: int, addresses: list[str], *, adapt: bool = True
    ) -> completeness.RangeRead | None:
        """The range's logs, checked complete (``completeness``); None when the range had to shrink."""
        if not addresses:  # an empty filter would match every contract's logs
            return completeness.RangeRead([], {}, self.rpc.providers.pick(), set(range(start, end + 1)))
        state = self.state
        try:
            read = await completeness.read_range(
                self.rpc, start, end, addresses, self.near_head, every_header=self.dense
            )
        except RequestTooLarge as exc:
            span = end - start + 1
            if span == 1:
                raise
            # A range limit in the message is a fixed block-range limit: never ask for more again.
            max_range = span - 1 if "range" in exc.message.lower() else state.max_range
            self.state = RangeState(max(1, span // 2), max_range)
            log.info("eth_getLogs %d..%d refused (%s); range now %d", start, end, exc.message, self.state.range)
            return None
        except completeness.IncompleteAnswer:
            raise  # read again later (the provider was rejected): not a reason to narrow the range
        except RetryableError as exc:
            # Timeouts on wide ranges: narrow down (the client already retried the same request).
            if state.range == 1:
                raise
            self.state = RangeState(max(1, state.range // 2), state.max_range)
            log.info("eth_getLogs %d..%d failed (%s); range now %d", start, end, exc, self.state.range)
            return None
        if not adapt:
            return read
        span, with_logs = end - start + 1, len({item["blockNumber"] for item in read.logs})
        self.dense = 2 * with_logs >= span
        # Aim for ~target_logs per batch: bounded memory and a steady pipeline.
        found = len(read.logs)
        if found > 2 * self.target_logs:
            self.state = RangeState(max(1, span * self.target_logs // found), state.max_range)
        elif found < self.target_logs and span >= state.range:
            self.state = RangeState(min(state.max_range, state.range * 2), state.max_range)
        return read


def _drop(task: asyncio.Task[Any]) -> None:
    """Cancel a read ahead no one will take; its outcome (an error too) is retrieved, never reported."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
