"""Auction, pass, withdrawal and earnings reads over real auctions, bids and tips indexed from anvil;
and min_block on them (the cache's move on NOTIFY is in test_auction_feed.py, against a real process)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sanic import Sanic

from anvil.node import rpc
from core.chain.manifest import Manifest
from tests.integration.api.auction_chain import ALICE, BOB, SELLER, clap, send
from tests.integration.api.chain import index


def head(chain: str) -> int:
    return int(str(rpc(chain, "eth_blockNumber")), 16)


async def get(app: Sanic, path: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    _, response = await app.asgi_client.get(path, headers=headers)
    assert response.status == 200, response.text
    data: dict[str, Any] = response.json["data"]
    return data


async def user_with_wallets(app: Sanic, pool: asyncpg.Pool, email: str, wallets: list[str]) -> str:
    _, signup = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": "password123"})
    tokens = signup.json["data"]
    for wallet in wallets:
        await pool.execute("INSERT INTO user_wallets (address, user_id) VALUES ($1, $2)", wallet.lower(),
                           tokens["user"]["id"])  # fmt: skip
    return str(tokens["access_token"])


async def test_auction_reads_follow_bids_ends_and_passes(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool
) -> None:
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 3000, "meet the creator"])
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [500, 2000, "a shorter one"])
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [500, 4000, "cancelled"])
    send(chain, manifest, SELLER, "MeetingAuction", "cancel_auction", [3])
    send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1000)
    await index(manifest, pool, chain)
    tip = head(chain)

    active = await get(app, f"/api/auctions/active?min_block={tip}")
    assert active["indexed_block"]["number"] == tip
    assert [a["auction_id"] for a in active["items"]] == ["2", "1"]  # soonest ending first; 3 is cancelled
    first = active["items"][1]
    assert (first["seller"], first["highest_bidder"], first["highest_bid"], first["bid_count"]) == (
        SELLER.lower(), ALICE.lower(), "1000", 1)  # fmt: skip
    assert first["reserve"] == "1000" and first["status"] == "active" and active["next_cursor"] is None
    one = await get(app, "/api/auctions/active?limit=1")
    assert [a["auction_id"] for a in one["items"]] == ["2"] and one["next_cursor"]
    rest = await get(app, f"/api/auctions/active?limit=1&cursor={one['next_cursor']}")
    assert [a["auction_id"] for a in rest["items"]] == ["1"]

    detail = await get(app, "/api/auctions/1")
    assert [(b["bidder"], b["amount"]) for b in detail["bids"]] == [(ALICE.lower(), "1000")]
    cancelled = await get(app, "/api/auctions/3")
    assert cancelled["auction"]["status"] == "cancelled"
    _, missing = await app.asgi_client.get("/api/auctions/99")
    assert missing.status == 404 and missing.json["error"]["details"]["indexed_block"]["number"] == tip
    for bad in ("/api/auctions/x1", "/api/auctions/" + "9" * 78, "/api/auctions/active?cursor=AAAA"):
        _, response = await app.asgi_client.get(bad)
        assert response.status == 400, (bad, response.text)

    send(chain, manifest, BOB, "MeetingAuction", "bid", [1], value=2000)
    await index(manifest, pool, chain)
    detail = await get(app, f"/api/auctions/1?min_block={tip + 1}")
    assert [(b["bidder"], b["amount"]) for b in detail["bids"]] == [(BOB.lower(), "2000"), (ALICE.lower(), "1000")]
    assert detail["bids"][0]["previous_bidder"] == ALICE.lower() and detail["auction"]["highest_bid"] == "2000"
    active = await get(app, "/api/auctions/active")
    assert active["items"][1]["highest_bidder"] == BOB.lower()

    # min_block: a read waits for a bid that is mined but not indexed yet.
    send(chain, manifest, BOB, "MeetingAuction", "bid", [2], value=600)
    mined = head(chain)
    read = asyncio.create_task(app.asgi_client.get(f"/api/auctions/2?min_block={mined}"))
    await asyncio.sleep(0.6)
    assert not read.done()
    await index(manifest, pool, chain)
    _, response = await asyncio.wait_for(read, 5)
    assert response.status == 200 and response.json["data"]["auction"]["highest_bidder"] == BOB.lower()
    assert response.json["data"]["indexed_block"]["number"] >= mined

    # Both end: no longer open; Bob won both, and holds two passes.
    rpc(chain, "evm_increaseTime", [4000])
    rpc(chain, "evm_mine")
    send(chain, manifest, ALICE, "MeetingAuction", "end_auction", [1])
    send(chain, manifest, ALICE, "MeetingAuction", "end_auction", [2])
    await index(manifest, pool, chain)
    done = await get(app, f"/api/auctions/active?min_block={head(chain)}")
    assert done["items"] == [] and done["as_of"] > first["end_time"]

    seller = await user_with_wallets(app, pool, "seller@example.com", [SELLER])
    winner = await user_with_wallets(app, pool, "bob@example.com", [BOB])
    created = await get(app, "/api/auctions/user/created?limit=2", seller)
    assert [a["auction_id"] for a in created["items"]] == ["3", "2"]
    more = await get(app, f"/api/auctions/user/created?limit=2&cursor={created['next_cursor']}", seller)
    assert [a["auction_id"] for a in more["items"]] == ["1"]
    won = await get(app, "/api/auctions/user/won", winner)
    assert [(a["auction_id"], a["winner"], a["status"]) for a in won["items"]] == [
        ("2", BOB.lower(), "ended"), ("1", BOB.lower(), "ended")]  # fmt: skip
    assert (await get(app, "/api/auctions/user/won", seller))["items"] == []
    passes = await get(app, "/api/passes", winner)
    assert [(p["token_id"], p["auction_id"], p["owner"]) for p in passes["items"]] == [
        ("1", "1", BOB.lower()), ("2", "2", BOB.lower())]  # fmt: skip
    public = await get(app, f"/api/passes/{BOB}?limit=1")
    assert [p["token_id"] for p in public["items"]] == ["1"] and public["next_cursor"]
    _, anonymous = await app.asgi_client.get("/api/auctions/user/won")
    assert anonymous.status == 401


async def test_earnings_and_withdrawals_of_a_creator(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    engagement = manifest.contract("Engagement").address
    await clap(manifest, pool, chain, relayer_key, SELLER, 1000)
    await clap(manifest, pool, chain, relayer_key, SELLER, 400)
    await index(manifest, pool, chain)
    token = await user_with_wallets(app, pool, "creator@example.com", [SELLER])
    mine = await get(app, f"/api/contracts/balances?min_block={head(chain)}", token)
    [wallet] = mine["wallets"]
    assert wallet["earnings"] == [{"token": engagement, "token_name": "Engagement", "amount": str(975 + 390)}]

    send(chain, manifest, SELLER, "TipRouter", "withdraw", [engagement, 300])
    send(chain, manifest, SELLER, "TipRouter", "withdraw", [engagement, 65])
    tip = head(chain)
    await index(manifest, pool, chain)
    withdrawals = await get(app, f"/api/contracts/withdrawals/{SELLER}?limit=1&min_block={tip}")
    [latest] = withdrawals["items"]
    assert (latest["amount"], latest["creator"], latest["token_name"], latest["block_number"]) == (
        "65", SELLER.lower(), "Engagement", tip)  # fmt: skip
    assert latest["tx_hash"].startswith("0x") and len(latest["tx_hash"]) == 66
    older = await get(app, f"/api/contracts/withdrawals/{SELLER}?limit=1&cursor={withdrawals['next_cursor']}")
    assert [w["amount"] for w in older["items"]] == ["300"]
    mine = await get(app, "/api/contracts/balances", token)
    assert mine["wallets"][0]["earnings"][0]["amount"] == "1000"
    tki = next(b for b in mine["wallets"][0]["balances"] if b["token"] == "Engagement")
    assert tki["balance"] == "365"
