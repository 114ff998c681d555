"""Auction, bid and pass projections follow the chain through a reorg and replay identically."""

from __future__ import annotations

import time

import asyncpg

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.verify import verify
from relayer.calls import encode_call
from tests.integration.helpers import PAST_AUCTION_END_S, make_indexer, sync

SELLER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil accounts #3..#5 (unlocked)
ALICE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
BOB = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"


def send(url: str, manifest: Manifest, sender: str, contract: str, fn: str, args: list[object], value: int = 0) -> None:
    call = encode_call(manifest, contract, fn, args)
    request = {"from": sender, "to": call.to, "data": call.data, "value": hex(value)}
    try:
        rpc(url, "eth_call", [request, "latest"])
    except RuntimeError as exc:
        raise AssertionError(f"{fn} would revert: {exc}") from None
    tx = rpc(url, "eth_sendTransaction", [{"from": sender, "to": call.to, "data": call.data, "value": hex(value)}])
    receipt = None
    for _ in range(100):  # right after sending, anvil may still answer null
        if receipt := rpc(url, "eth_getTransactionReceipt", [tx]):
            break
        time.sleep(0.02)
    assert isinstance(receipt, dict) and receipt["status"] == "0x1", receipt


async def _state(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
        for table in ("auctions", "bids", "meeting_passes", "chain_events")
    }


async def test_auction_lifecycle_reorg_and_replay(chain: str, manifest: Manifest, pool: asyncpg.Pool) -> None:
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 300, "meet the creator"])
    send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1000)
    send(chain, manifest, BOB, "MeetingAuction", "bid", [1], value=2000)
    rpc(chain, "evm_increaseTime", [PAST_AUCTION_END_S])
    rpc(chain, "evm_mine")
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        before_end = await _state(pool)
        send(chain, manifest, ALICE, "MeetingAuction", "end_auction", [1])
        await sync(indexer)

        auction = await pool.fetchrow("SELECT * FROM auctions")
        assert auction["status"] == "ended"
        assert (auction["seller"], auction["winner"]) == (SELLER.lower(), BOB.lower())
        assert (auction["highest_bid"], auction["bid_count"], auction["pass_id"]) == (2000, 2, 1)
        bids = await pool.fetch("SELECT bidder, amount, previous_bidder FROM bids ORDER BY block_number")
        assert [(b["bidder"], b["amount"], b["previous_bidder"]) for b in bids] == [
            (ALICE.lower(), 1000, None),
            (BOB.lower(), 2000, ALICE.lower()),
        ]
        pass_row = await pool.fetchrow("SELECT * FROM meeting_passes")
        assert (pass_row["token_id"], pass_row["owner"], pass_row["redeemed"]) == (1, BOB.lower(), False)

        # The block that ended the auction is replaced by an empty one: back to "active", no pass.
        rpc(chain, "anvil_reorg", [1, []])
        await sync(indexer)
        assert await _state(pool) == before_end

        send(chain, manifest, BOB, "MeetingAuction", "end_auction", [1])
        await sync(indexer)
        live = await _state(pool)
        async with pool.acquire() as conn, conn.transaction():
            await indexer.store.projections.rebuild(conn, manifest.chain_id)
        assert await _state(pool) == live

        report = await verify(pool, client, manifest, indexer.store.projections)
        assert report.ok, report.mismatches
        await pool.execute("UPDATE auctions SET highest_bid = highest_bid + 1")
        await pool.execute("UPDATE meeting_passes SET owner = $1", ALICE.lower())
        report = await verify(pool, client, manifest, indexer.store.projections)
        assert len(report.mismatches) == 2, report.mismatches
    assert live["meeting_passes"][0][3] == BOB.lower()
