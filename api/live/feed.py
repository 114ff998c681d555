"""The live feed: one producer (a Redis-leased leader among all API processes) turns indexer
progress into events appended to a Redis stream; every process's hub reads the stream and
fans it out to its SSE/WebSocket clients. Stream ids are the clients' resume cursors.

Events (``data`` of each stream entry, JSON):
``transfer`` (block, log_index, tx_hash, token, token_name, from, to, amount),
``balance`` (block, account, token, token_name, balance: the balance as of that block),
``block`` (block, hash: everything up to it is announced),
``reorg`` (block, hash: every event above ``block`` is retracted),
``resync`` (too much changed at once, or the cursor is older than the stream: re-read);
and the auction and tipping events of :mod:`api.live.contract_events` (``bid``, ``auction_ended``,
``intent_settled``, ``withdrawal``, …), in log order with the transfers; on-stream gifts
(``gift``, ``gift_retracted``: :mod:`api.stream.gifts`) carry ``stream_id``, and ``?stream=`` keeps
one stream's channel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis

from api.live import contract_events
from api.store import ApiStore, Indexed

log = logging.getLogger("api.feed")
MAX_EVENTS_PER_STEP = 1000
LEASE_MS = 15_000
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)

Event = dict[str, Any]
Entry = tuple[str, Event, str]  # stream id, event, the event's JSON text


def stream_key(chain_id: int) -> str:
    return f"feed:{chain_id}"


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(raw: Any) -> list[tuple[str, Event]]:
    """``[(id, {b"data": json})]`` as Redis returns it -> ``[(id, event)]``."""
    return [(_text(eid), json.loads(_text(fields[b"data"]))) for eid, fields in raw or []]


def _frames(raw: Any) -> list[Entry]:
    """Like :func:`_entries`, keeping each entry's JSON text: a process serializes an event once, not once
    per client (500 viewers of one stream, one ``json.dumps``)."""
    out: list[Entry] = []
    for eid, fields in raw or []:
        data = _text(fields[b"data"])
        out.append((_text(eid), json.loads(data), data))
    return out


def entry(entry_id: str, event: Event) -> Entry:
    return entry_id, event, json.dumps(event, separators=(",", ":"))


def concerns(event: Event, account: str | None, stream: int | None = None) -> bool:
    """Whether a client following ``account`` and/or one live ``stream``'s channel gets ``event``."""
    if stream is not None:
        if event["type"] == "resync":
            return True
        if event.get("stream_id") != stream:
            return False
    if account is None or event["type"] in {"block", "reorg", "resync"}:
        return True
    return any(event.get(field) == account for field in contract_events.ACCOUNT_FIELDS)


class FeedProducer:
    def __init__(self, redis: Redis, store: ApiStore, tokens: dict[str, str], maxlen: int) -> None:
        self.redis = redis
        self.store = store
        self.tokens = tokens  # token address -> contract name
        self.maxlen = maxlen
        chain = store.chain_id
        self.stream = stream_key(chain)
        self.cursor_key = f"feed:{chain}:block"
        self.lease_key = f"feed:{chain}:leader"
        self.me = uuid.uuid4().hex
        self.announced: tuple[int, str] | None = None  # the last block this process appended (survives Redis)

    async def is_leader(self) -> bool:
        if await self.redis.set(self.lease_key, self.me, nx=True, px=LEASE_MS):
            log.info("this process now produces the live feed")
            return True
        return bool(await self.redis.eval(_RENEW, 1, self.lease_key, self.me, str(LEASE_MS)))

    async def release(self) -> None:
        """Give the lease up at once (a graceful stop): another process takes over without waiting for the TTL."""
        if await self.redis.eval(_RELEASE, 1, self.lease_key, self.me):
            log.info("released the live feed lease")

    async def step(self, indexed: Indexed, reorgs: list[tuple[int, str]], resyncs: Sequence[str] = ()) -> None:
        """Announce what changed since the last announced block (leader only)."""
        if not await self.is_leader():
            return
        raw = await self.redis.get(self.cursor_key)
        last: tuple[int, str] | None = None
        if raw:
            number, _, hash_ = _text(raw).partition(":")
            last = (int(number), hash_)
        elif self.announced is not None:
            last = self.announced  # Redis restarted empty: rebuild what was indexed meanwhile from Postgres
            log.warning("the feed's cursor is gone (Redis restarted?); re-announcing from block %d", last[0])
        events: list[Event] = []
        for block, hash_ in reorgs:
            if last is not None and block < last[0]:
                events.append({"type": "reorg", "block": block, "hash": hash_})
                last = (block, hash_)
        for reason in resyncs:  # a projection was swapped: what the clients hold may differ from it
            events.append({"type": "resync", "reason": reason})
        if indexed is None and last is None:
            last = (0, "")  # nothing indexed yet: the feed will announce everything from the start
        if indexed is not None:
            number, hash_ = indexed["number"], indexed["hash"]
            if last is None:
                last = (number, hash_)  # the feed starts at the state found on its first run
            elif number < last[0] or (number == last[0] and last[1] and hash_ != last[1]):
                events.append({"type": "reorg", "block": min(number, last[0] - 1), "hash": hash_})
                last = (min(number, last[0] - 1), hash_)
            if number > last[0]:
                events.extend(await self._changes(last[0], number, hash_))
                last = (number, hash_)
        if events or raw is None:
            await self._append(events, last)

    async def _changes(self, after: int, upto: int, upto_hash: str) -> list[Event]:
        rows = await self.store.transfers_between(after, upto, MAX_EVENTS_PER_STEP + 1)
        facts = await self.store.contract_events_between(
            after, upto, contract_events.CONTRACTS, contract_events.EVENTS, MAX_EVENTS_PER_STEP + 1
        )
        if len(rows) + len(facts) > MAX_EVENTS_PER_STEP:
            return [{"type": "resync", "block": upto, "hash": upto_hash, "reason": "too many changes"}]
        events: list[Event] = []
        touched: dict[tuple[str, str], int] = {}
        for r in rows:
            token = r["token"]
            events.append({"type": "transfer", "block": r["block_number"], "log_index": r["log_index"],
                           "tx_hash": r["tx_hash"], "token": token, "token_name": self.tokens.get(token),
                           "from": r["sender"], "to": r["receiver"], "amount": r["amount"]})  # fmt: skip
            for account in (r["sender"], r["receiver"]):
                if account != "0x" + "0" * 40:
                    touched[(token, account)] = r["block_number"]
        if facts:
            sellers = await self.store.sellers(contract_events.auction_ids(facts))
            events.extend(e for r in facts if (e := contract_events.contract_event(r, self.tokens, sellers)))
            events.sort(key=lambda e: (e["block"], e["log_index"]))  # one log order across contracts
        if touched:
            for b in await self.store.balances_for(list(touched)):
                if b["token"] is not None:
                    events.append({"type": "balance", "block": upto, "account": b["account"], "token": b["token"],
                                   "token_name": self.tokens.get(b["token"]), "balance": b["balance"]})  # fmt: skip
        events.append({"type": "block", "block": upto, "hash": upto_hash})
        return events

    async def _append(self, events: Iterable[Event], last: tuple[int, str] | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for event in events:
                pipe.xadd(self.stream, {"data": json.dumps(event, separators=(",", ":"))},
                          maxlen=self.maxlen, approximate=True)  # fmt: skip
            if last is not None:
                pipe.set(self.cursor_key, f"{last[0]}:{last[1]}")
            await pipe.execute()
        if last is not None:
            self.announced = last


class FeedHub:
    """Reads the stream once per process and hands each entry to the local subscribers."""

    def __init__(self, redis: Redis, chain_id: int, queue_size: int = 1000) -> None:
        self.redis = redis
        self.stream = stream_key(chain_id)
        self.queue_size = queue_size
        self.subscribers: set[asyncio.Queue[Entry | None]] = set()

    def subscribe(self) -> asyncio.Queue[Entry | None]:
        queue: asyncio.Queue[Entry | None] = asyncio.Queue(self.queue_size)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Entry | None]) -> None:
        self.subscribers.discard(queue)

    async def backlog(self, cursor: str) -> tuple[bool, list[Entry]]:
        """Entries after ``cursor`` (up to 1000); False when the cursor fell off the stream's tail."""
        first = _entries(await self.redis.xrange(self.stream, "-", "+", count=1))
        if first and parse_id(first[0][0]) > parse_id(cursor):
            return False, []
        return True, _frames(await self.redis.xrange(self.stream, f"({cursor}", "+", count=1000))

    async def run(self) -> None:
        latest = _entries(await self.redis.xrevrange(self.stream, "+", "-", count=1))
        last_id = latest[0][0] if latest else "0-0"
        failed = False
        while not cancelling():
            try:
                if failed:
                    last_id = await self._after_outage(last_id)
                    failed = False
                batches = await self.redis.xread({self.stream: last_id}, count=500, block=1000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if cancelling():  # redis-py may turn a cancellation into its own error
                    raise asyncio.CancelledError from exc
                log.warning("feed read failed: %s", exc)
                failed = True
                await asyncio.sleep(1)
                continue
            response: Any = batches
            for _, entries in response or []:
                for item in _frames(entries):
                    last_id = item[0]
                    self._dispatch(item)

    async def _after_outage(self, last_id: str) -> str:
        """Back from a failed read: if the stream lost the entry we last read (Redis restarted empty), the
        clients may have missed events: each gets ``resync`` (never a silent gap)."""
        if last_id == "0-0" or _entries(await self.redis.xrange(self.stream, last_id, last_id, count=1)):
            return last_id
        ms, seq = parse_id(last_id)
        synthetic = f"{ms}-{seq + 1}"  # after every cursor the clients hold, so that none skips it
        log.warning("the feed stream lost entry %s (Redis restarted?); telling the clients to resync", last_id)
        self._dispatch(entry(synthetic, {"type": "resync", "reason": "the live feed restarted"}))
        return "0-0"  # read the new stream from its start (ids before the outage are gone)

    def _dispatch(self, item: Entry) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # A client too slow to keep up is cut off; it resumes from its last cursor.
                self.subscribers.discard(queue)
                queue._queue.clear()  # type: ignore[attr-defined]
                queue.put_nowait(None)
