"""Meetings end to end on real anvil + Postgres + Redis and a real API process: an auction ends
through the relayer, the indexer sees it, the feed producer materializes the meeting, the winner
redeems the pass with an EIP-712 signature, the relayer burns it, the indexer sees the burn and
the API hands out a Jitsi token; then every way of getting in again without a pass is refused."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from redis.asyncio import Redis

from anvil.node import rpc
from api.settings import ApiSettings
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.api.chain import index
from tests.integration.api.conftest import start_api
from tests.integration.api.test_feed import _read_sse, _until
from tests.integration.api.test_schemathesis import CHECKS
from tests.integration.helpers import PAST_AUCTION_END_S, make_relayer, relay_all, send
from tests.processes import stop

SECRET = "jitsi-test-app-secret-0123456789abcdef"
APP_ID = "meetings-test-app"
DOMAIN = "jitsi.test.example"
REDEMPTION = {
    "Redemption": [
        {"name": "tokenId", "type": "uint256"},
        {"name": "holder", "type": "address"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@pytest.fixture
def api(settings: ApiSettings, tmp_path: Path) -> Iterator[str]:
    extra = {
        "API_OUTBOX_DIR": str(tmp_path / "outbox"),
        "API_JITSI_APP_SECRET": SECRET,
        "API_JITSI_APP_ID": APP_ID,
        "API_JITSI_DOMAIN": DOMAIN,
    }
    process, url = start_api(settings, extra, tmp_path / "api.log")
    yield url
    stop(process)  # SIGTERM, grace, SIGKILL, always reaped


def wallet(chain: str) -> LocalAccount:
    """A fresh account with ether that anvil lets us send from (impersonated)."""
    account: LocalAccount = Account.create()
    rpc(chain, "anvil_setBalance", [account.address, hex(10**20)])
    rpc(chain, "anvil_impersonateAccount", [account.address])
    return account


async def sign_up(client: httpx.AsyncClient, pool: asyncpg.Pool, email: str, account: LocalAccount) -> dict[str, str]:
    """An email account with ``account`` linked (as SIWE would link it; SIWE itself is tested in test_siwe.py)."""
    response = await client.post("/api/auth/signup", json={"email": email, "password": "password123"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    await pool.execute(
        "INSERT INTO user_wallets (address, user_id) VALUES ($1, $2)", account.address.lower(), data["user"]["id"]
    )
    return {"Authorization": f"Bearer {data['access_token']}"}


def redemption(account: LocalAccount, manifest: Manifest, token_id: int, deadline: int) -> dict[str, Any]:
    domain = {
        "name": "MeetingPass",
        "version": "1",
        "chainId": manifest.chain_id,
        "verifyingContract": to_checksum_address(manifest.contract("MeetingPass").address),
    }
    message = {"tokenId": token_id, "holder": account.address, "deadline": deadline}
    signature = account.sign_typed_data(domain, REDEMPTION, message).signature.hex()
    return {"holder": account.address, "deadline": deadline, "signature": "0x" + signature.removeprefix("0x")}


async def auction_won(chain: str, manifest: Manifest, pool: asyncpg.Pool, key: str) -> tuple[Any, Any, Any]:
    """Seller auctions, loser then winner bid, the relayer ends it (end_auction request); not indexed yet."""
    seller, winner, loser = wallet(chain), wallet(chain), wallet(chain)
    send(chain, manifest, seller.address, "MeetingAuction", "create_auction", [1000, 300, "a call with me"])
    send(chain, manifest, loser.address, "MeetingAuction", "bid", [1], value=1000)
    send(chain, manifest, winner.address, "MeetingAuction", "bid", [1], value=2000)
    rpc(chain, "evm_increaseTime", [PAST_AUCTION_END_S])
    rpc(chain, "evm_mine")
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, key)
        await relayer.prepare()
        await store.enqueue("end_auction", "end_auction:1", {"auction_id": "1"})
        await relay_all(relayer, store)
    return seller, winner, loser


async def eventually(pool: asyncpg.Pool, sql: str, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := await pool.fetchval(sql):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"never true: {sql}")


async def feed_notifications(redis: Redis, chain_id: int) -> list[dict[str, Any]]:
    entries = await redis.xrange(f"feed:{chain_id}", "-", "+")
    events = [json.loads(fields[b"data"]) for _, fields in entries]
    return [e for e in events if e["type"] == "notification"]


async def test_auction_to_meeting_access_to_burn_to_jitsi_token(
    api: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str, redis: Redis
) -> None:
    seller, winner, loser = await auction_won(chain, manifest, pool, relayer_key)
    await index(manifest, pool, chain)
    # No API call yet: the live-feed producer materializes the meeting from the indexed AuctionEnded.
    meeting_id = await eventually(pool, "SELECT id FROM meetings")
    room = await pool.fetchval("SELECT room FROM meetings")
    assert room.startswith("meet-") and len(room) >= 64

    async with httpx.AsyncClient(base_url=api, timeout=20) as client:
        as_seller = await sign_up(client, pool, "seller@example.com", seller)
        as_winner = await sign_up(client, pool, "winner@example.com", winner)
        as_loser = await sign_up(client, pool, "loser@example.com", loser)
        path = f"/api/meetings/{meeting_id}"

        mine = (await client.get("/api/meetings", headers=as_winner)).json()["data"]["items"]
        assert [(m["id"], m["status"], m["role"], m["pass_id"], m["room"]) for m in mine] == [
            (meeting_id, "scheduled", "winner", "1", None)
        ]
        seed_path = (await client.get("/api/meetings/user", headers=as_seller)).json()["data"]["items"]
        assert [(m["id"], m["role"], m["room"]) for m in seed_path] == [(meeting_id, "seller", room)]
        by_auction = await client.get("/api/meetings/auction/1", headers=as_winner)
        assert by_auction.json()["data"]["meeting"]["id"] == meeting_id
        assert (await client.get(path, headers=as_loser)).status_code == 404
        assert (await client.get("/api/meetings", headers=as_loser)).json()["data"]["items"] == []

        # A non-winner is refused: with their own signature (they hold no pass), or with the winner's.
        deadline = int(time.time()) + 7200
        own = await client.post(f"{path}/access", headers=as_loser, json=redemption(loser, manifest, 1, deadline))
        assert own.status_code == 403 and own.json()["error"]["details"]["reason"] == "not_pass_holder", own.text
        stolen = redemption(winner, manifest, 1, deadline)
        theft = await client.post(f"{path}/access", headers=as_loser, json=stolen)
        assert theft.status_code == 403 and theft.json()["error"]["details"]["reason"] == "holder_not_linked"
        forged = {**stolen, "signature": redemption(loser, manifest, 1, deadline)["signature"]}
        bad = await client.post(f"{path}/access", headers=as_winner, json=forged)
        assert bad.status_code == 403 and bad.json()["error"]["details"]["reason"] == "bad_signature"
        late = await client.post(f"{path}/access", headers=as_winner, json=redemption(winner, manifest, 1, 10))
        assert late.status_code == 400 and late.json()["error"]["details"]["reason"] == "bad_deadline"
        before = await client.get(f"{path}/access", headers=as_winner)
        assert before.status_code == 403 and before.json()["error"]["details"]["reason"] == "not_admitted"

        # The winner redeems: 202, one relayer burn_pass request; a retry of the same redemption is the same request.
        # Five at once (separate connections): the meeting's row lock lets one queue the burn, the rest see it.
        accepted = await asyncio.gather(
            *(client.post(f"{path}/access", headers=as_winner, json=stolen) for _ in range(5))
        )
        assert [r.status_code for r in accepted] == [202] * 5, [r.text for r in accepted]
        request_id = accepted[0].json()["data"]["request_id"]
        assert {r.json()["data"]["request_id"] for r in accepted} == {request_id}
        other = await client.post(f"{path}/access", headers=as_winner,
                                  json=redemption(winner, manifest, 1, deadline + 1))  # fmt: skip
        assert other.status_code == 409 and other.json()["error"]["details"]["reason"] == "burn_in_progress"
        queued = await pool.fetch("SELECT kind, idempotency_key, payload FROM tx_requests WHERE kind = 'burn_pass'")
        assert [(r["kind"], r["idempotency_key"]) for r in queued] == [("burn_pass", "burn_pass:31337:1:1")]
        assert queued[0]["payload"] == {"token_id": "1", "holder": winner.address.lower(), "deadline": str(deadline),
                                        "signature": stolen["signature"].lower()}  # fmt: skip
        pending = await client.get(f"{path}/access", headers=as_winner)
        assert pending.status_code == 200 and pending.json()["data"]["status"] == "pending"

        async with RpcClient([chain]) as rpc_client:
            relayer, store = make_relayer(manifest, pool, rpc_client, relayer_key)
            await relay_all(relayer, store)
        assert (await store.get(request_id))["status"] == "confirmed"
        confirmed = await client.get(f"{path}/access", headers=as_winner)  # burned on chain, not indexed yet
        assert confirmed.json()["data"]["status"] == "pending"
        await index(manifest, pool, chain)
        assert await pool.fetchval("SELECT redeemed FROM meeting_passes WHERE token_id = 1") is True

        granted = await client.get(f"{path}/access", headers=as_winner)
        assert granted.status_code == 200, granted.text
        access = granted.json()["data"]
        assert access["status"] == "granted" and access["room"] == room and access["moderator"] is False
        claims = jwt.decode(access["token"], SECRET, algorithms=["HS256"], audience="jitsi", issuer=APP_ID)
        assert claims["room"] == room and claims["sub"] == DOMAIN
        assert claims["nbf"] <= time.time() < claims["exp"] <= time.time() + 3600 + 5
        assert claims["context"]["user"]["name"] == winner.address.lower()
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(access["token"], "another-secret-of-sufficient-length!", algorithms=["HS256"], audience="jitsi")
        meeting = (await client.get(path, headers=as_winner)).json()["data"]["meeting"]
        assert meeting["status"] == "open" and meeting["redeemed_by"] == winner.address.lower()
        assert meeting["room"] == room and meeting["pass_owner"] is None

        # The pass is burned: a replay, or any other signature, is refused; the admitted holder gets fresh tokens.
        replay = await client.post(f"/api/meetings/access/{meeting_id}", headers=as_winner, json=stolen)  # seed path
        assert replay.status_code == 409 and replay.json()["error"]["details"]["reason"] == "pass_redeemed"
        fresh_sig = await client.post(f"{path}/access", headers=as_winner,
                                      json=redemption(winner, manifest, 1, deadline + 2))  # fmt: skip
        assert fresh_sig.status_code == 409 and fresh_sig.json()["error"]["details"]["reason"] == "pass_redeemed"
        assert (await client.get(f"{path}/access", headers=as_winner)).json()["data"]["status"] == "granted"
        assert (await client.get(f"{path}/access", headers=as_loser)).status_code == 404
        assert await pool.fetchval("SELECT count(*) FROM tx_requests WHERE kind = 'burn_pass'") == 1

        # The seller hosts (moderator), extends and closes; nobody else may.
        host = (await client.get(f"{path}/access", headers=as_seller)).json()["data"]
        assert host["moderator"] is True and jwt.decode(host["token"], SECRET, algorithms=["HS256"],
                                                          audience="jitsi")["room"] == room  # fmt: skip
        new_end = int(time.time()) + 30 * 86400
        for headers, status in ((as_winner, 403), (as_loser, 404)):
            refused = await client.post(f"{path}/extend", headers=headers, json={"ends_at": new_end})
            assert refused.status_code == status, refused.text
            assert (await client.post(f"{path}/close", headers=headers)).status_code == status
        earlier = await client.post(f"{path}/extend", headers=as_seller, json={"ends_at": int(time.time()) + 60})
        assert earlier.status_code == 400
        extended = await client.post(f"{path}/extend", headers=as_seller, json={"ends_at": new_end})
        assert extended.status_code == 200, extended.text
        assert extended.json()["data"]["meeting"]["ends_at"].startswith(
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(new_end))
        )
        closed = await client.post(f"{path}/close", headers=as_seller)
        assert closed.status_code == 200 and closed.json()["data"]["meeting"]["status"] == "closed"
        assert (await client.post(f"{path}/close", headers=as_seller)).status_code == 409
        after_close = await client.get(f"{path}/access", headers=as_winner)
        assert after_close.status_code == 409 and after_close.json()["error"]["details"]["reason"] == "closed"

        # Every access decision is in the log (the seller reads it).
        log = (await client.get(f"{path}/log", headers=as_seller)).json()["data"]["items"]
        decisions = [(e["action"], e["outcome"], e["reason"]) for e in reversed(log)]
        assert decisions[:10] == [
            ("redeem", "denied", "not_pass_holder"),
            ("redeem", "denied", "holder_not_linked"),
            ("redeem", "denied", "bad_signature"),
            ("redeem", "denied", "bad_deadline"),
            ("token", "denied", "not_admitted"),
            ("redeem", "pending", "burn_queued"),
            *[("redeem", "pending", "burn_in_flight")] * 4,
        ]
        assert ("token", "denied", "not_participant") in decisions
        assert ("token", "granted", "redeemed") in decisions and ("token", "granted", "host") in decisions
        assert ("redeem", "denied", "pass_redeemed") in decisions and decisions[-1] == ("token", "denied", "closed")
        assert (await client.get(f"{path}/log", headers=as_winner)).status_code == 403

        # Notifications: stored per wallet, readable, and pushed on the live feed.
        notes = (await client.get("/api/notifications", headers=as_winner)).json()["data"]
        kinds = [n["kind"] for n in notes["items"]]
        assert kinds == ["meeting_closed", "meeting_extended", "meeting_ready", "auction_won"] and notes["unread"] == 4
        seller_notes = (await client.get("/api/notifications", headers=as_seller)).json()["data"]["items"]
        assert [n["kind"] for n in seller_notes] == ["meeting_ready"]
        one = await client.post(f"/api/notifications/{notes['items'][0]['id']}/read", headers=as_winner)
        assert one.status_code == 200 and one.json()["data"]["notification"]["read"] is True
        assert (
            await client.post(f"/api/notifications/{notes['items'][1]['id']}/read", headers=as_loser)
        ).status_code == 404
        unread = (await client.get("/api/notifications?unread=true", headers=as_winner)).json()["data"]
        assert len(unread["items"]) == 3 and unread["unread"] == 3
        marked = await client.post("/api/notifications/read-all", headers=as_winner)
        assert marked.json()["data"]["marked"] == 3
        assert (await client.get("/api/notifications", headers=as_winner)).json()["data"]["unread"] == 0

    pushed = await feed_notifications(redis, manifest.chain_id)
    assert sorted((e["account"], e["kind"]) for e in pushed) == sorted([
        (winner.address.lower(), "auction_won"), (winner.address.lower(), "meeting_ready"),
        (seller.address.lower(), "meeting_ready"), (winner.address.lower(), "meeting_extended"),
        (winner.address.lower(), "meeting_closed"),
    ])  # fmt: skip
    assert all(room not in json.dumps(e) for e in pushed)

    # An SSE client following the winner's wallet gets them (and none of the seller's), resuming from the stream.
    [(first_id, _)] = await redis.xrange(f"feed:{manifest.chain_id}", "-", "+", count=1)
    events: list[dict[str, Any]] = []
    url = f"{api}/api/feed/sse?account={winner.address.lower()}&cursor={first_id.decode()}"
    reader = asyncio.create_task(_read_sse(url, events))
    try:
        await _until(events, lambda data: data.get("kind") == "meeting_closed")
    finally:
        reader.cancel()
    notified = [e["data"] for e in events if e["data"]["type"] == "notification"]
    assert {n["kind"] for n in notified} == {"auction_won", "meeting_ready", "meeting_extended", "meeting_closed"}
    assert {n["account"] for n in notified} == {winner.address.lower()}


async def test_a_reorg_that_undoes_the_auction_end_voids_the_meeting(
    api: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    seller, winner, _ = await auction_won(chain, manifest, pool, relayer_key)
    await index(manifest, pool, chain)
    async with httpx.AsyncClient(base_url=api, timeout=20) as client:
        as_winner = await sign_up(client, pool, "winner@example.com", winner)
        # Materialized on read as well (whichever comes first: this or the producer).
        [meeting] = (await client.get("/api/meetings", headers=as_winner)).json()["data"]["items"]
        first_room = await pool.fetchval("SELECT room FROM meetings")

        rpc(chain, "anvil_reorg", [1, []])  # the block that ended the auction is replaced by an empty one
        await index(manifest, pool, chain)
        voided = (await client.get(f"/api/meetings/{meeting['id']}", headers=as_winner)).json()["data"]["meeting"]
        assert voided["status"] == "void"
        deadline = int(time.time()) + 7200
        refused = await client.post(f"/api/meetings/{meeting['id']}/access", headers=as_winner,
                                    json=redemption(winner, manifest, 1, deadline))  # fmt: skip
        assert refused.status_code == 409 and refused.json()["error"]["details"]["reason"] == "void"
        assert await pool.fetchval("SELECT count(*) FROM tx_requests WHERE kind = 'burn_pass'") == 0

        # Ended again on the new branch: the same meeting row stands again, re-bound only if needed.
        send(chain, manifest, seller.address, "MeetingAuction", "end_auction", [1])
        await index(manifest, pool, chain)
        again = (await client.get(f"/api/meetings/{meeting['id']}", headers=as_winner)).json()["data"]["meeting"]
        assert again["status"] == "scheduled" and again["winner"] == winner.address.lower()
        assert await pool.fetchval("SELECT room FROM meetings") == first_room  # same winner, same pass: unchanged
        assert await pool.fetchval("SELECT count(*) FROM meetings") == 1


async def test_the_meeting_routes_hold_under_schemathesis_with_a_real_meeting(
    settings: ApiSettings, tmp_path: Path, pool: asyncpg.Pool, manifest: Manifest
) -> None:
    """The shared schemathesis run only meets 404s here (no meeting exists); this one fuzzes a real
    meeting (indexed rows written directly) whose seller and winner wallets are the fuzzer's."""
    seller, winner = Account.create().address.lower(), Account.create().address.lower()
    chain_id = manifest.chain_id
    await pool.execute(
        "INSERT INTO auctions (chain_id, auction_id, seller, reserve, end_time, fee_bps, metadata, status,"
        " highest_bidder, highest_bid, bid_count, winner, fee, pass_id, created_block, updated_block)"
        " VALUES ($1, 1, $2, 1, $4, 0, 'm', 'ended', $3, 5, 1, $3, 0, 1, 1, 2)",
        chain_id, seller, winner, int(time.time()),
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO meeting_passes (chain_id, token_id, auction_id, owner, minted_block, updated_block)"
        " VALUES ($1, 1, 1, $2, 2, 2)",
        chain_id, winner,
    )  # fmt: skip
    process, url = start_api(settings, {"API_OUTBOX_DIR": str(tmp_path / "outbox")}, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/api/auth/signup", json={"email": "f@example.com", "password": "password1"})
            data = response.json()["data"]
            for address in (seller, winner):
                await pool.execute("INSERT INTO user_wallets (address, user_id) VALUES ($1, $2)", address,
                                   data["user"]["id"])  # fmt: skip
            listed = await client.get("/api/meetings", headers={"Authorization": f"Bearer {data['access_token']}"})
            [meeting] = listed.json()["data"]["items"]
            spec = (await client.get("/docs/openapi.json")).json()["paths"]
        documented = {(path, method) for path, ops in spec.items() for method in ops}
        assert {
            ("/api/meetings", "get"), ("/api/meetings/user", "get"), ("/api/meetings/{meeting_id}", "get"),
            ("/api/meetings/auction/{auction_id}", "get"), ("/api/meetings/{meeting_id}/access", "post"),
            ("/api/meetings/access/{meeting_id}", "post"), ("/api/meetings/{meeting_id}/access", "get"),
            ("/api/meetings/{meeting_id}/extend", "post"), ("/api/meetings/{meeting_id}/close", "post"),
            ("/api/meetings/{meeting_id}/log", "get"), ("/api/notifications", "get"),
            ("/api/notifications/{notification_id}/read", "post"), ("/api/notifications/read-all", "post"),
        } <= documented  # fmt: skip
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            "[parameters]\n"
            f'"path.meeting_id" = "{meeting["id"]}"\n'
            '"path.auction_id" = "1"\n'
            '"path.notification_id" = "1"\n'
        )
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config),
            "run", f"{url}/docs/openapi.json",
            "--checks", CHECKS,
            "--include-path-regex", "^/api/(meetings|notifications)",
            "--max-examples", "15",
            "--phases", "examples,coverage,fuzzing",
            "--header", f"Authorization: Bearer {data['access_token']}",
            "--seed", "7",
            "--workers", "1",
            "--request-timeout", "10",
            "--max-time", "40",
            "--no-color",
            "--suppress-health-check", "all",
        ]  # fmt: skip
        run = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path
        )
        output, _ = await asyncio.wait_for(run.communicate(), 120)
        text = output.decode(errors="replace")
        assert run.returncode == 0, text[-6000:]
        assert "Tested: 13" in text, text[-3000:]
        # The fuzzer reached real decisions: access was logged and the seller's close went through.
        assert await pool.fetchval("SELECT count(*) FROM meeting_access_log") > 0
        assert await pool.fetchval("SELECT closed_at IS NOT NULL FROM meetings") is True
    finally:
        stop(process)


async def test_a_reorg_that_changes_the_winner_rebinds_the_meeting_to_a_new_room(
    api: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    _, winner, loser = await auction_won(chain, manifest, pool, relayer_key)
    await index(manifest, pool, chain)
    async with httpx.AsyncClient(base_url=api, timeout=20) as client:
        as_winner = await sign_up(client, pool, "winner@example.com", winner)
        as_loser = await sign_up(client, pool, "loser@example.com", loser)
        [meeting] = (await client.get("/api/meetings", headers=as_winner)).json()["data"]["items"]
        first_room = await pool.fetchval("SELECT room FROM meetings")

        # The winning bid, the block after it and the end are replaced: on the new branch the loser's bid wins.
        rpc(chain, "anvil_reorg", [3, []])
        rpc(chain, "evm_increaseTime", [PAST_AUCTION_END_S])  # the new branch is not past the end yet
        rpc(chain, "evm_mine")
        send(chain, manifest, loser.address, "MeetingAuction", "end_auction", [1])
        await index(manifest, pool, chain)
        # Until re-bound (by the producer or by this read), the old binding reads as void.
        [rebound] = (await client.get("/api/meetings", headers=as_loser)).json()["data"]["items"]
        assert (rebound["id"], rebound["winner"], rebound["status"]) == (meeting["id"], loser.address.lower(),
                                                                          "scheduled")  # fmt: skip
        assert (await client.get(f"/api/meetings/{meeting['id']}", headers=as_winner)).status_code == 404
        assert await pool.fetchval("SELECT room FROM meetings") != first_room
        deadline = int(time.time()) + 7200
        stale = await client.post(f"/api/meetings/{meeting['id']}/access", headers=as_winner,
                                  json=redemption(winner, manifest, 1, deadline))  # fmt: skip
        assert stale.status_code == 403 and stale.json()["error"]["details"]["reason"] == "not_pass_holder"
        notes = (await client.get("/api/notifications", headers=as_loser)).json()["data"]["items"]
        assert {n["kind"] for n in notes} == {"auction_won", "meeting_ready"}


async def test_a_failed_burn_can_be_retried_with_a_new_redemption_under_a_new_key(
    api: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    _, winner, _ = await auction_won(chain, manifest, pool, relayer_key)
    await index(manifest, pool, chain)
    chain_now = int(str(rpc(chain, "eth_getBlockByNumber", ["latest", False])["timestamp"]), 16)  # type: ignore[index]
    if chain_now <= time.time() + 150:  # the auction usually moved the chain's clock ahead of ours; make sure
        rpc(chain, "evm_setNextBlockTimestamp", [int(time.time()) + 300])
        rpc(chain, "evm_mine")
        chain_now = int(str(rpc(chain, "eth_getBlockByNumber", ["latest", False])["timestamp"]), 16)  # type: ignore[index]
    assert chain_now > time.time() + 150
    async with httpx.AsyncClient(base_url=api, timeout=20) as client, RpcClient([chain]) as rpc_client:
        as_winner = await sign_up(client, pool, "winner@example.com", winner)
        [meeting] = (await client.get("/api/meetings", headers=as_winner)).json()["data"]["items"]
        path = f"/api/meetings/{meeting['id']}"
        relayer, store = make_relayer(manifest, pool, rpc_client, relayer_key)

        # Fresh by our clock, already past on chain: the relayer's pre-flight refuses it, the burn fails.
        expired = redemption(winner, manifest, 1, int(time.time()) + 120)
        assert (await client.post(f"{path}/access", headers=as_winner, json=expired)).status_code == 202
        await relay_all(relayer, store)
        failed = (await client.get(path, headers=as_winner)).json()["data"]["meeting"]
        assert failed["status"] == "scheduled" and failed["burn"]["status"] == "failed"
        assert "expired" in failed["burn"]["error"]

        retry = await client.post(f"{path}/access", headers=as_winner,
                                  json=redemption(winner, manifest, 1, chain_now + 3600))  # fmt: skip
        assert retry.status_code == 202, retry.text
        keys = await pool.fetch("SELECT idempotency_key, status FROM tx_requests WHERE kind = 'burn_pass' ORDER BY id")
        assert [k["idempotency_key"] for k in keys] == ["burn_pass:31337:1:1", "burn_pass:31337:1:2"]
        await relay_all(relayer, store)
        await index(manifest, pool, chain)
        granted = await client.get(f"{path}/access", headers=as_winner)
        assert granted.status_code == 200 and granted.json()["data"]["status"] == "granted"
