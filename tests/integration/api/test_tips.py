"""Tips end to end on real anvil: a fan signs a clap and a gift → the API verifies and stores them
pending → the relayer's approve_pending and settle_approved jobs → the relayer sends the settle
→ the indexer sees the outcomes → the API shows them settled with the tx hash; then the creator
withdraws by signed request. And every way a submission is refused."""

from __future__ import annotations

import time

import asyncpg
from sanic import Sanic

from anvil.node import rpc
from core.chain.eip712 import WITHDRAWAL_TYPES
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.calls import encode_call
from relayer.jobs.intents import approve_pending, settle_approved
from tests.integration.api.chain import index
from tests.integration.api.tipping import (
    creator,
    fund,
    intent,
    job_context,
    person,
    sign,
)
from tests.integration.helpers import balance_of, make_relayer, relay_all

CLAP, GIFT = 0, 1


def contract_digest(chain: str, manifest: Manifest, body: dict, kind: int) -> str:
    args = (body["from"], body["to"], body["token"], int(body["amount"]), kind, int(body["nonce"]),
            int(body["deadline"]))  # fmt: skip
    call = encode_call(manifest, "TipRouter", "intent_digest", [args])
    return str(rpc(chain, "eth_call", [{"to": call.to, "data": call.data}, "latest"]))


async def test_a_clap_and_a_gift_settle_and_the_creator_withdraws(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan = await person(app, pool)
    await fund(chain, manifest, pool, relayer_key, fan.address, tk=1000, allowance=1000, tki=500)

    clap_body = intent(manifest, fan, star.address, CLAP, 100, nonce=1)
    gift_body = intent(manifest, fan, star.address, GIFT, 300, nonce=2)
    _, clapped = await app.asgi_client.post("/api/contracts/clap", headers=fan.headers, json=clap_body)
    _, gifted = await app.asgi_client.post("/api/contracts/gift", headers=fan.headers, json=gift_body)
    assert clapped.status == 201, clapped.text
    assert gifted.status == 201, gifted.text
    clap_digest, gift_digest = clapped.json["data"]["intent"]["digest"], gifted.json["data"]["intent"]["digest"]
    assert clapped.json["data"]["intent"]["status"] == "pending"
    assert clap_digest == contract_digest(chain, manifest, clap_body, CLAP)  # the contract's own digest
    assert gift_digest == contract_digest(chain, manifest, gift_body, GIFT)

    async with RpcClient([chain]) as client:
        ctx = job_context(manifest, pool, client)
        assert await approve_pending(ctx) == "approved 2, refused 0"
        assert await settle_approved(ctx) == f"2 intents in 1 settle requests {[await _request_id(pool)]}, 0 expired"
        assert await settle_approved(ctx) == "0 intents in 0 settle requests [], 0 expired"  # nothing twice
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
    await index(manifest, pool, chain)
    tx_hash = await pool.fetchval("SELECT tx_hash FROM tx_requests WHERE kind = 'settle'")

    _, mine = await app.asgi_client.get("/api/contracts/intents", headers=fan.headers)
    assert mine.status == 200, mine.text
    items = mine.json["data"]["items"]
    assert [(i["digest"], i["kind"], i["status"], i["tx_hash"]) for i in items] == [
        (gift_digest, "gift", "settled", tx_hash),
        (clap_digest, "clap", "settled", tx_hash),
    ]
    assert items[0]["fee"] == "7" and items[0]["block_number"] is not None  # 2.5 % of 300, rounded down
    _, one = await app.asgi_client.get(f"/api/contracts/intents/{clap_digest}", headers=star.headers)
    assert one.status == 200 and one.json["data"]["intent"]["status"] == "settled"  # the receiver sees it too
    _, received = await app.asgi_client.get("/api/contracts/intents?direction=received", headers=star.headers)
    assert len(received.json["data"]["items"]) == 2
    _, stranger = await app.asgi_client.get(f"/api/contracts/intents/{clap_digest}", headers=admin.headers)
    assert stranger.status == 200  # admins see every intent
    outsider = await person(app, pool)
    _, hidden = await app.asgi_client.get(f"/api/contracts/intents/{clap_digest}", headers=outsider.headers)
    assert hidden.status == 404

    _, profile = await app.asgi_client.get(f"/api/creators/{star.id}")
    assert profile.status == 200, profile.text
    data = profile.json["data"]
    coin, tki = manifest.contract("Coin").address, manifest.contract("Engagement").address
    assert [(r["kind"], r["count"], r["amount"], r["fee"]) for r in data["received"]] == [
        ("clap", 1, "100", "2"),
        ("gift", 1, "300", "7"),
    ]
    assert {e["token"]: e["amount"] for e in data["earnings"]} == {coin: "293", tki: "98"}

    # The creator withdraws the gifts' earnings by a signed request, sent by the relayer.
    deadline = int(time.time()) + 3600
    message = {"creator": star.address, "token": coin, "amount": 293, "nonce": 7, "deadline": deadline}
    body = {**{k: str(v) for k, v in message.items()}, "signature": sign(star.account.key, manifest, "Withdrawal",
            WITHDRAWAL_TYPES, message)}  # fmt: skip
    _, withdrawn = await app.asgi_client.post("/api/contracts/withdraw", headers=star.headers, json=body)
    assert withdrawn.status == 201, withdrawn.text
    assert withdrawn.json["data"]["status"] == "pending"
    _, again = await app.asgi_client.post("/api/contracts/withdraw", headers=star.headers, json=body)
    assert again.status == 201 and again.json["data"]["id"] == withdrawn.json["data"]["id"]  # idempotent
    _, fan_withdraws = await app.asgi_client.post("/api/contracts/withdraw", headers=fan.headers, json=body)
    assert fan_withdraws.status == 403  # creators only
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
    assert balance_of(chain, coin, star.address) == 293
    _, listed = await app.asgi_client.get("/api/contracts/withdrawals", headers=star.headers)
    assert [(w["status"], w["amount"], w["tx_hash"] is not None) for w in listed.json["data"]["items"]] == [
        ("confirmed", "293", True)
    ]
    await index(manifest, pool, chain)
    _, after = await app.asgi_client.get(f"/api/creators/{star.id}")
    assert {e["token"]: e["amount"] for e in after.json["data"]["earnings"]} == {coin: "0", tki: "98"}


async def _request_id(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT max(id) FROM tx_requests WHERE kind = 'settle'"))


async def test_bad_submissions_are_refused_with_4xx_and_nothing_is_stored(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan, other = await person(app, pool), await person(app, pool)
    good = intent(manifest, fan, star.address, CLAP, 5, nonce=1)
    _, accepted = await app.asgi_client.post("/api/contracts/clap", headers=fan.headers, json=good)
    assert accepted.status == 201, accepted.text

    coin = manifest.contract("Coin").address
    cases = [
        ("clap", intent(manifest, fan, star.address, CLAP, 5, nonce=2, signer=other.account), 400, "bad_signature"),
        ("clap", {**intent(manifest, fan, star.address, CLAP, 5, nonce=3), "amount": "6"}, 400, "bad_signature"),
        ("clap", intent(manifest, fan, star.address, CLAP, 5, nonce=4, token=coin), 400, "wrong_token"),
        ("gift", intent(manifest, fan, star.address, CLAP, 5, nonce=5), 400, "wrong_token"),
        ("clap", intent(manifest, fan, star.address, CLAP, 5, nonce=6, deadline=int(time.time()) - 1), 400,
         "expired"),
        ("clap", good, 409, "nonce_used"),  # the same intent again
        ("clap", intent(manifest, fan, star.address, CLAP, 9, nonce=1), 409, "nonce_used"),  # its nonce again
        ("clap", intent(manifest, fan, star.address, CLAP, 0, nonce=7), 400, "invalid_input"),
        ("clap", intent(manifest, fan, other.address, CLAP, 5, nonce=8), 400, "invalid_input"),  # not a creator
        ("clap", {**good, "signature": "0x" + "00" * 65}, 400, "bad_signature"),
        ("clap", {**good, "nonce": "1" * 79}, 400, "invalid_input"),
        ("clap", {**good, "extra": 1}, 400, "invalid_input"),
    ]  # fmt: skip
    for route, body, status, code in cases:
        _, response = await app.asgi_client.post(f"/api/contracts/{route}", headers=fan.headers, json=body)
        assert (response.status, response.json["error"]["code"]) == (status, code), (route, body, response.text)
    _, not_mine = await app.asgi_client.post(
        "/api/contracts/clap", headers=other.headers, json=intent(manifest, fan, star.address, CLAP, 5, nonce=9)
    )
    assert not_mine.status == 403  # `from` must be the caller's wallet
    _, anonymous = await app.asgi_client.post("/api/contracts/clap", json=good)
    assert anonymous.status == 401
    assert await pool.fetchval("SELECT count(*) FROM tip_intents") == 1
