"""Against a real API process: an SSE client receives bid, auction end and settlement events, and
the cached auction reads move to fresh keys when the indexer's NOTIFY announces a new bid."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from anvil.node import rpc
from api.settings import ApiSettings
from core.chain.manifest import Manifest
from tests.integration.api.auction_chain import ALICE, BOB, SELLER, clap, send
from tests.integration.api.chain import index
from tests.integration.api.test_feed import _read_sse, _until


async def _detail(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(f"{url}/api/auctions/1")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_bid_events_reach_a_feed_client_and_a_new_bid_invalidates_the_cache(
    api_server: str, settings: ApiSettings, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    events: list[dict[str, Any]] = []
    seller_only: list[dict[str, Any]] = []
    readers = [
        asyncio.create_task(_read_sse(f"{api_server}/api/feed/sse", events)),
        asyncio.create_task(_read_sse(f"{api_server}/api/feed/sse?account={SELLER}", seller_only)),
    ]
    redis = Redis.from_url(settings.redis_url)
    try:
        await asyncio.sleep(0.5)
        send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 3000, "meet the creator"])
        send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1000)
        await index(manifest, pool, chain)
        tip = int(str(rpc(chain, "eth_blockNumber")), 16)
        created = await _until(events, lambda e: e["type"] == "auction_created")
        assert created["data"]["seller"] == SELLER.lower() and created["data"]["reserve"] == "1000"
        bid = await _until(events, lambda e: e["type"] == "bid")
        assert (bid["data"]["auction_id"], bid["data"]["bidder"], bid["data"]["amount"]) == ("1", ALICE.lower(), "1000")
        assert bid["data"]["seller"] == SELLER.lower() and bid["data"]["block"] == tip
        await _until(events, lambda e: e["type"] == "block" and e["block"] == tip)

        async with httpx.AsyncClient(timeout=10) as client:
            first = await _detail(client, api_server)
            assert first["indexed_block"]["number"] == tip and len(first["bids"]) == 1
            keys = [k.decode() async for k in redis.scan_iter(f"cache:{manifest.chain_id}:{tip}:*:auction:1")]
            assert len(keys) == 1  # cached under this block's generation

            send(chain, manifest, BOB, "MeetingAuction", "bid", [1], value=2000)
            await index(manifest, pool, chain)
            later = await _until(events, lambda e: e["type"] == "bid" and e["bidder"] == BOB.lower())
            assert later["data"]["previous_bidder"] == ALICE.lower() and later["data"]["previous_amount"] == "1000"
            for _ in range(50):  # no min_block: only the NOTIFY moves the cache to the new block
                second = await _detail(client, api_server)
                if second["indexed_block"]["number"] > tip:
                    break
                await asyncio.sleep(0.1)
            assert [b["bidder"] for b in second["bids"]] == [BOB.lower(), ALICE.lower()]
            assert second["auction"]["highest_bid"] == "2000"

        rpc(chain, "evm_increaseTime", [4000])
        rpc(chain, "evm_mine")
        send(chain, manifest, ALICE, "MeetingAuction", "end_auction", [1])
        await clap(manifest, pool, chain, relayer_key, SELLER, 1000)
        engagement = manifest.contract("Engagement").address
        send(chain, manifest, SELLER, "TipRouter", "withdraw", [engagement, 500])
        await index(manifest, pool, chain)
        ended = await _until(events, lambda e: e["type"] == "auction_ended")
        end = ended["data"]
        assert (end["winner"], end["amount"], end["pass_id"]) == (BOB.lower(), "2000", "1")
        settled = await _until(events, lambda e: e["type"] == "intent_settled")
        tip_event = settled["data"]
        assert (tip_event["to"], tip_event["amount"], tip_event["fee"]) == (SELLER.lower(), "1000", "25")
        withdrawal = await _until(events, lambda e: e["type"] == "withdrawal")
        assert withdrawal["data"]["creator"] == SELLER.lower() and withdrawal["data"]["amount"] == "500"

        # The seller's filtered stream has the bids on their auction, its end and their tips.
        for kind in ("bid", "auction_ended", "intent_settled", "withdrawal"):
            await _until(seller_only, lambda e, kind=kind: e["type"] == kind)
        assert all(e["data"]["type"] != "transfer" or SELLER.lower() in (e["data"]["from"], e["data"]["to"])
                   for e in seller_only)  # fmt: skip
        ids = [e["id"] for e in events]
        assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    finally:
        for reader in readers:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await redis.aclose()
