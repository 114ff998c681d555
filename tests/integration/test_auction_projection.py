"""Auction, bid and pass projections follow the chain through a reorg and replay identically."""

from __future__ import annotations

import uuid

import asyncpg

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from indexer.verify import verify
from tests.conftest import ADMIN_DSN
from tests.integration.helpers import PAST_AUCTION_END_S, make_indexer, mint_directly, send, sync

SELLER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil accounts #3..#5 (unlocked)
ALICE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
BOB = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"


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


async def test_the_fetch_worker_writes_what_the_in_process_path_writes(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, template_db: str
) -> None:
    """A backfill's fetch worker hands its rows over as COPY text (``BatchRows.encoded``): raw events (args as
    jsonb), transfers, balances, mints, bids, auctions and passes equal what the in-process path writes."""
    mint_directly(chain, manifest, ALICE, 10**30)
    mint_directly(chain, manifest, BOB, 5)
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 300, 'a "quoted"\ttab\\ and ünï'])
    send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1000)
    send(chain, manifest, BOB, "MeetingAuction", "bid", [1], value=2000)
    rpc(chain, "evm_increaseTime", [PAST_AUCTION_END_S])
    rpc(chain, "evm_mine")
    send(chain, manifest, ALICE, "MeetingAuction", "end_auction", [1])
    tables = ("chain_events", "token_transfers", "token_balances", "token_mints", "auctions", "bids", "meeting_passes")

    async def dump(p: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
        return {t: sorted(tuple(r) for r in await p.fetch(f"SELECT * FROM {t}")) for t in tables}

    name = f"ct_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    other = await create_pool(ADMIN_DSN.rpartition("/")[0] + f"/{name}", max_size=3)
    try:
        async with RpcClient([chain]) as client:
            # Ranges of 2 blocks: several batches cross the process boundary.
            indexer = make_indexer(manifest, pool, client, max_block_range=2)
            indexer.historical.fetch_worker, indexer.historical.worker_min_blocks = True, 0
            await sync(indexer)
            await sync(make_indexer(manifest, other, client, max_block_range=2), pipelined=False)
        by_worker, in_process = await dump(pool), await dump(other)
    finally:
        await other.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert by_worker == in_process
    assert len(by_worker["bids"]) == 2 and len(by_worker["token_mints"]) == 2 and len(by_worker["meeting_passes"]) == 1
    assert any(
        r[8].get("metadata") == 'a "quoted"\ttab\\ and ünï'
        for r in by_worker["chain_events"]
        if r[7] == "AuctionCreated"
    )
