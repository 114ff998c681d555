"""A rebuild's history from the node (``indexer/custom/rebuild.py``): the pending events' logs, start block to
checkpoint, into ``custom_logs``, resumable (``custom_history_progress``).

One pass over the blocks serves a rebuild group: one contract's pending tables, or a factory added with
history and its children's. The children are discovered from the factory's creation events in the fetched
history, in block order: each is asked for (by address, several per ``eth_getLogs``) from its creation block
on, recorded in ``custom_children`` in its range's transaction and handed to the live indexer at once
(``CustomSources.follow``), which keeps its raw log from then on; a batch read before the handover is read
again (``StaleBatch``). Once the factory's history is in, a last pass over the children's addresses covers
the blocks the indexer wrote between the fetch's start and the last handover. Logs fetched twice (the live
path and the history) are stored once: the raw log's key is (chain, block, log index).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from core.errors import RetryableError
from indexer.custom.config import CustomContract
from indexer.custom.sources import Child, CustomSources
from indexer.custom.store import CustomStore
from indexer.custom.versions import Pending

log = logging.getLogger("indexer.custom")
GetLogs = Callable[[int, int, list[str]], Awaitable[list[dict[str, Any]] | None]]
BlockTimes = Callable[[list[int]], Awaitable[dict[int, datetime]]]


def _order(g: dict[str, Any]) -> tuple[int, int]:
    return int(g["blockNumber"], 16), int(g["logIndex"], 16)


@dataclass(frozen=True)
class _Range:
    """One range fetched: the logs to keep, the children announced (with their block's hash), block times."""

    start: int
    end: int
    logs: list[dict[str, Any]]
    found: list[tuple[Child, str]]
    at: dict[int, datetime]


class _History:
    """The state of one group's fetch: which address is whose and from which block, how far each topic got."""

    def __init__(self, store: CustomStore, group: Sequence[Pending], get_logs: GetLogs, times: BlockTimes) -> None:
        self.store, self.get_logs, self.times = store, get_logs, times
        names = {p.wanted.contract for p in group}
        self.contracts: dict[str, CustomContract] = {c.name: c for c in store.wanted if c.name in names}
        self.topics = {n: sorted({p.wanted.topic0 for p in group if p.wanted.contract == n}) for n in names}
        self.children = [c for c in self.contracts.values() if c.factory and c.factory.event.contract in names]
        parents = [self.contracts[c.factory.event.contract] for c in self.children if c.factory]
        chain_id = store.sources.chain_id
        self.discovery = CustomSources([*parents, *self.children], chain_id) if self.children else None
        self.owner: dict[str, str] = {}  # address -> contract
        self.since: dict[str, int] = {}  # address -> first block it counts from
        self.done: dict[tuple[str, str], int] = {}  # (contract, topic0) -> last block fetched
        self.names = ", ".join(p.wanted.table for p in group)
        self.added = 0

    def own(self, address: str, contract: str, first: int) -> None:
        if address not in self.owner:
            self.owner[address] = contract
            self.since[address] = max(self.contracts[contract].start_block, first)

    async def run(self, pool: asyncpg.Pool, step: int) -> int:
        q, chain_id = self.store.q, self.store.sources.chain_id
        cp = await pool.fetchrow(q.get_checkpoint, chain_id)
        if cp is None:
            return 0
        for c in self.contracts.values():
            for address in c.addresses:
                self.own(address, c.name, c.start_block)
        for child in await pool.fetch(q.custom_children, chain_id):
            if child["contract"] in self.contracts:
                self.own(child["address"], child["contract"], child["block_number"])
        upto = cp["block_number"]
        first = min(self.since.values(), default=upto + 1)
        for name, topics in self.topics.items():
            await pool.execute(q.custom_history_start, chain_id, name, topics, first - 1)
            for r in await pool.fetch(q.custom_history_progress, chain_id, name, topics):
                self.done[(name, r["topic0"])] = r["done"]
        start = max(first, min(self.done.values()) + 1)
        log.info("%s: fetching history, blocks %d..%d (from %d)", self.names, first, upto, start)
        await self._pass(pool, start, upto, set(self.contracts), step, discover=True)
        if self.children:
            # The children handed over during the pass were followed from then on only: their logs in the
            # blocks indexed since the fetch began come from the node too, up to the checkpoint now.
            mine = {c.name for c in self.children}
            cp = await pool.fetchrow(q.get_checkpoint, chain_id)
            upto = cp["block_number"] if cp else -1
            start = min(d for (n, _), d in self.done.items() if n in mine) + 1
            log.info("%s: children's history after the factory's, blocks %d..%d", self.names, start, upto)
            await self._pass(pool, start, upto, mine, step, discover=False)
        return self.added

    async def _pass(
        self, pool: asyncpg.Pool, start: int, upto: int, only: set[str], step: int, *, discover: bool
    ) -> None:
        while start <= upto:
            end = min(upto, start + step - 1)
            try:
                fetched = await self._range(start, end, only, discover)
            except RetryableError as exc:  # the node is away: this range again, later
                log.warning("%s: history %d..%d: %s; retrying", self.names, start, end, exc)
                await asyncio.sleep(1)
                continue
            if fetched is None:
                step = max(1, step // 2)
                continue
            await self._write(pool, fetched, only)
            start = end + 1

    async def _range(self, start: int, end: int, only: set[str], discover: bool) -> _Range | None:
        """The range's logs of the group's addresses (and of the children announced in it), the children
        found (with their creation block's hash), the blocks' times; None when the range must shrink."""
        addresses = sorted(a for a, n in self.owner.items() if n in only)
        logs = await self.get_logs(start, end, addresses)
        if logs is None:
            return None
        found: list[tuple[Child, str]] = []
        if self.discovery is not None and discover:
            logs = sorted(logs, key=_order)
            hashes = {_order(g): g["blockHash"].lower() for g in logs}
            for child in self.discovery.discover(logs):
                if child.address not in self.owner and child.contract in self.contracts:
                    found.append((child, hashes[(child.block_number, child.log_index)]))
            if found:  # announced in this range: their logs of it too, all in one request
                extra = await self.get_logs(start, end, sorted({c.address for c, _ in found}))
                if extra is None:
                    return None
                logs = sorted(logs + extra, key=_order)
        owner, since = dict(self.owner), dict(self.since)
        for child, _ in found:
            owner.setdefault(child.address, child.contract)
            since.setdefault(child.address, max(self.contracts[child.contract].start_block, child.block_number))
        mine = []
        for g in logs:
            if not g["topics"] or (name := owner.get(g["address"].lower())) not in only:
                continue
            block, done = int(g["blockNumber"], 16), self.done.get((name, g["topics"][0].lower()))
            if done is not None and done < block and block >= since[g["address"].lower()]:
                mine.append(g)  # (a topic with no pending table is not kept)
        at = await self.times(sorted({int(g["blockNumber"], 16) for g in mine})) if mine else {}
        return _Range(start, end, mine, found, at)

    async def _write(self, pool: asyncpg.Pool, r: _Range, only: set[str]) -> None:
        """One range's logs, children and progress, in one transaction holding the checkpoint row."""
        q, chain_id = self.store.q, self.store.sources.chain_id
        start, end, logs, found, at = r.start, r.end, r.logs, r.found, r.at
        owner = {**self.owner, **{c.address: c.contract for c, _ in found}}
        inserted: set[str] = set()
        async with pool.acquire() as conn, conn.transaction():
            checkpoint = await conn.fetchval(q.custom_checkpoint_share, chain_id)
            checkpoint = -1 if checkpoint is None else checkpoint
            for name in only:
                mine = [g for g in logs if owner[g["address"].lower()] == name]
                if not mine:
                    continue
                blocks = [int(g["blockNumber"], 16) for g in mine]
                status = await conn.execute(
                    q.custom_logs_add, chain_id, name, blocks, [int(g["logIndex"], 16) for g in mine],
                    [g["blockHash"].lower() for g in mine], [at[b] for b in blocks],
                    [g["transactionHash"].lower() for g in mine], [g["address"].lower() for g in mine],
                    [",".join(t.lower() for t in g["topics"]) for g in mine], [g["data"] for g in mine], checkpoint,
                )  # fmt: skip
                self.added += int(status.split()[-1])
            if found:
                rows = await conn.fetch(
                    q.custom_children_add, chain_id, [c.contract for c, _ in found], [c.address for c, _ in found],
                    [c.factory for c, _ in found], [c.block_number for c, _ in found],
                    [c.log_index for c, _ in found], [h for _, h in found], checkpoint,
                )  # fmt: skip
                inserted = {r["address"] for r in rows}
            for name in only:
                await conn.execute(q.custom_history_done, chain_id, name, self.topics[name], start, end)
        for child, _ in found:
            self.own(child.address, child.contract, child.block_number)
        if handed := [c for c, _ in found if c.address in inserted]:
            self.store.sources.follow(handed)
            log.info("%s: %d children found in blocks %d..%d, followed from now on", self.names, len(handed),
                     start, end)  # fmt: skip
        self.done = {(n, t): max(d, end) if n in only else d for (n, t), d in self.done.items()}


async def fetch_history(
    pool: asyncpg.Pool,
    store: CustomStore,
    group: Sequence[Pending],
    get_logs: GetLogs,
    times: BlockTimes,
    *,
    step: int = 2000,
) -> int:
    """The group's events' logs from the start block to the checkpoint, from the node into ``custom_logs``;
    the logs added. Progress per (contract, topic0) is written with each range's logs: a killed fetch resumes."""
    return await _History(store, group, get_logs, times).run(pool, step)
