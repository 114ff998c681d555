"""Gifts: the catalog (named gifts with a coin price, seeded by the migration and edited by admins), and
gifts given during a live stream.

A gift on stream is a fan's signed EIP-712 gift intent (kind 1, Coin) naming a catalog gift and a live
stream, for exactly the gift's price, to a wallet of the streaming creator. The intent is checked as
``POST /api/contracts/gift`` checks it, then decided AT ONCE by the tip policy the relayer's hourly
approver applies (``core/tips/policy.py``, under the same per-chain lock): stored ``approved`` (and
settled by the relayer's batches like any approved intent) or ``refused`` (409 ``gift_refused`` with the
reason; nothing reaches the channel). An approved gift is appended to the live feed at once as a ``gift``
event carrying ``stream_id`` (``/api/feed/sse?stream=<id>`` follows one stream). The sweep (a background
loop) retracts, once, a gift later refused (expired before its batch) or rejected on chain: a
``gift_retracted`` event on the same channel.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import asyncpg
from redis.asyncio import Redis

from api.live.feed import stream_key
from api.periodic import every
from api.settings import ApiSettings
from api.stream.service import QUERIES
from api.tips.schemas import IntentBody
from api.tips.service import Tips, intent_view
from core.chain.eip712 import KIND_CLAP, KIND_GIFT, REJECTION_REASONS
from core.chain.rpc import RpcClient
from core.db import translate_errors
from core.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from core.tips import policy

log = logging.getLogger("api.stream.gifts")


class GiftRefused(Conflict):
    """The tip policy refused the gift (blocked, daily cap, balance or allowance, nonce used on chain...)."""

    code = "gift_refused"


class StreamNotLive(Conflict):
    """Gifts are given only while the stream is live."""

    code = "stream_not_live"


class Gifts:
    def __init__(self, pool: asyncpg.Pool, tips: Tips, rpc: RpcClient, redis: Redis, settings: ApiSettings) -> None:
        self.pool = pool
        self.tips = tips
        self.rpc = rpc
        self.redis = redis
        self.settings = settings
        self.q = QUERIES
        self.caps = policy.Caps(
            settings.tips_daily_max_intents,
            {KIND_CLAP: settings.tips_daily_max_clap_amount, KIND_GIFT: settings.tips_daily_max_gift_amount},
        )

    # ------------------------------------------------------------------ catalog
    async def catalog(self, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await conn.fetch(self.q.gift_catalog, include_inactive)
        return [dict(r) for r in rows]

    async def put(self, slug: str, name: str, price: str, active: bool) -> dict[str, Any]:
        async with translate_errors(), self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q.upsert_gift, slug, name, price, active)
        return dict(row)

    # ------------------------------------------------------------------ on stream
    async def _approver(self) -> policy.Approver:
        kinds = self.tips.kind_tokens
        router = self.tips.manifest.address_of("TipRouter")
        if KIND_GIFT not in kinds or router is None:
            raise ServiceUnavailable("gifts are off: the deployment manifest lacks the Coin or the TipRouter")
        contracts = policy.Contracts(tokens=dict(kinds), coin=kinds[KIND_GIFT], router=router)
        return policy.Approver(self.tips.chain_id, await self.tips.domain(), contracts, self.caps)

    async def send(
        self, user_id: int, wallets: list[str], stream_id: int, slug: str, body: IntentBody
    ) -> dict[str, Any]:
        to = body.to.lower()
        async with translate_errors(), self.pool.acquire() as conn:
            stream = await conn.fetchrow(self.q.gift_stream, stream_id, to)
            gift = await conn.fetchrow(self.q.active_gift, slug)
        if stream is None:
            raise NotFound("no such stream", details={"stream_id": stream_id})
        if stream["status"] != "live":
            raise StreamNotLive("the stream is not live", details={"stream_id": stream_id, "status": stream["status"]})
        if gift is None:
            raise NotFound("no such gift in the catalog", details={"gift": slug})
        if body.amount != gift["price"]:
            raise InvalidInput("the amount must be the gift's price", details={"amount": body.amount[:80],
                               "price": gift["price"], "reason": "wrong_amount"})  # fmt: skip
        if not stream["to_creator"]:
            raise InvalidInput("`to` is not a wallet of the streaming creator", details={"to": to})
        intent, digest = await self.tips.verify(wallets, KIND_GIFT, body)
        approver = await self._approver()
        permit = intent.get("permit") or (None, None)  # a gasless gift: the permit's value counts as allowance
        row = {**intent, "user_id": user_id, "sender": intent["from"], "receiver": intent["to"],
               "permit_value": permit[0], "permit_deadline": permit[1]}  # fmt: skip
        view = await policy.chain_view(self.rpc, approver, [row])  # before the lock: it stays short
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not await policy.lock(conn, approver.chain_id, self.settings.gift_lock_wait_ms):
                raise ServiceUnavailable("the tip approver is busy; retry shortly")
            (reason,) = await policy.decide(conn, self.rpc, approver, [row], view)
            decision = ("refused", reason) if reason else ("approved", None)
            intent_id = await self.tips.insert(conn, user_id, intent, digest, decision)
            if reason is None:
                await conn.execute(self.q.insert_stream_gift, intent_id, stream_id, slug, gift["name"], gift["price"])
        if reason is not None:
            raise GiftRefused(f"the gift was refused: {reason}", details={"reason": reason, "digest": digest})
        event = {
            "type": "gift", "stream_id": stream_id, "digest": digest, "gift": slug, "name": gift["name"],
            "amount": gift["price"], "from": intent["from"], "to": intent["to"], "user_id": user_id,
            "accepted_at": round(time.time(), 3),  # unix seconds, when the decision committed
        }  # fmt: skip
        await self._publish([event])
        _, stored = await self.tips.get(digest)
        return {
            "stream_id": stream_id,
            "gift": slug,
            "name": gift["name"],
            "intent": intent_view(stored, self.tips.tokens),
        }

    async def _publish(self, events: list[dict[str, Any]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in events:
                data = json.dumps(event, separators=(",", ":"))
                pipe.xadd(stream_key(self.tips.chain_id), {"data": data}, maxlen=self.settings.feed_maxlen,
                          approximate=True)  # fmt: skip
            await pipe.execute()

    async def retract(self) -> int:
        """Retract (once) the gifts refused or rejected on chain since their approval; how many."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(self.q.retract_gifts)
            events = [
                {"type": "gift_retracted", "stream_id": r["stream_id"], "digest": r["digest"], "gift": r["gift_slug"],
                 "from": r["sender"], "to": r["receiver"],
                 "reason": REJECTION_REASONS.get(r["outcome_reason"], r["retract_reason"])
                 if r["retract_reason"] == "rejected" else r["retract_reason"]}
                for r in rows
            ]  # fmt: skip
            if events:
                await self._publish(events)  # before the commit: a failed append leaves them to the next sweep
        return len(events)

    async def run_sweep(self) -> None:
        async def round_() -> None:
            if n := await self.retract():
                log.info("retracted %d stream gifts", n)

        await every(self.settings.gift_sweep_interval, round_, "gift retraction sweep")

    async def page(
        self, user_id: int, wallets: list[str], direction: str, before: int, limit: int
    ) -> list[dict[str, Any]]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await conn.fetch(self.q.gifts_page, self.tips.chain_id, user_id, wallets, before, direction, limit)
        return [
            {
                "id": r["id"],
                "gift": r["gift_slug"],
                "name": r["gift_name"],
                "stream": {"id": r["stream_id"], "title": r["stream_title"], "creator_id": r["stream_creator_id"]},
                "retracted": r["retracted_at"] is not None,
                "retract_reason": r["retract_reason"],
                "intent": intent_view(r, self.tips.tokens),
            }
            for r in rows
        ]
