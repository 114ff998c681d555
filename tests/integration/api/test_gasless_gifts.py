"""Gasless gifts end to end on real anvil: a fan with 0 ETH and no allowance signs gift intents and
EIP-2612 Coin permits → the API verifies the permits and stores them → the relayer's policy counts
them as allowance → one settle_with_permits batch → the indexer → the API shows the gifts settled.
A permit made useless before the batch (its Coin nonce used) rejects only its own intent; permits
that cannot work are refused by the API with 400."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from eth_account import Account
from eth_account.messages import encode_typed_data
from sanic import Sanic

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.queue.kinds import validate_settle
from relayer.calls import encode_call
from relayer.jobs.intents import approve_pending, settle_approved
from tests.integration.api.chain import index
from tests.integration.api.tipping import Person, creator, intent, job_context, person, send_as
from tests.integration.helpers import balance_of, make_relayer, mint_directly, relay_all

GIFT, CLAP = 1, 0
PERMIT_TYPES = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def permit(manifest: Manifest, fan: Person, value: int, nonce: int, *, spender: str | None = None,
           deadline: int | None = None, key: Any = None) -> dict[str, str]:  # fmt: skip
    """The fan's Coin permit (eth-account's typed-data encoder, the Coin's deployed domain)."""
    coin = manifest.contract("Coin").address
    domain = {"name": "Creator Coin", "version": "1", "chainId": manifest.chain_id, "verifyingContract": coin}
    deadline = deadline if deadline is not None else int(time.time()) + 7 * 86400
    message = {"owner": fan.address, "spender": spender or manifest.contract("TipRouter").address, "value": value,
               "nonce": nonce, "deadline": deadline}  # fmt: skip
    signable = encode_typed_data(domain_data=domain, message_types={"Permit": PERMIT_TYPES}, message_data=message)
    signature = "0x" + bytes(Account.sign_message(signable, key or fan.account.key).signature).hex()
    return {"value": str(value), "nonce": str(nonce), "deadline": str(deadline), "signature": signature}


def eth_of(chain: str, address: str) -> int:
    return int(str(rpc(chain, "eth_getBalance", [address, "latest"])), 16)


async def gift(app: Sanic, fan: Person, body: dict[str, Any]) -> Any:
    _, response = await app.asgi_client.post("/api/contracts/gift", headers=fan.headers, json=body)
    return response


async def test_fans_without_eth_gift_with_permits_and_a_spoiled_permit_rejects_only_its_intent(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan, spoiled = await person(app, pool), await person(app, pool)
    coin, router = manifest.contract("Coin").address, manifest.contract("TipRouter").address
    for who in (fan, spoiled):
        mint_directly(chain, manifest, who.address, 1000)
        assert eth_of(chain, who.address) == 0

    first = await gift(app, fan, {**intent(manifest, fan, star.address, GIFT, 300, nonce=1),
                                  "permit": permit(manifest, fan, 500, nonce=0)})  # fmt: skip
    assert first.status == 201, first.text
    assert first.json["data"]["intent"]["gasless"] is True and first.json["data"]["intent"]["status"] == "pending"
    # A permit sets the allowance (it does not add to it): its value covers the fan's unsettled gifts.
    second = await gift(app, fan, {**intent(manifest, fan, star.address, GIFT, 200, nonce=2),
                                   "permit": permit(manifest, fan, 500, nonce=1)})  # fmt: skip
    assert second.status == 201, second.text
    doomed = await gift(app, spoiled, {**intent(manifest, spoiled, star.address, GIFT, 100, nonce=1),
                                       "permit": permit(manifest, spoiled, 100, nonce=0)})  # fmt: skip
    assert doomed.status == 201, doomed.text
    # The spoiled fan's Coin nonce 0 is used by another permit (to someone else) before the batch.
    other = permit(manifest, spoiled, 1, nonce=0, spender=admin.address)
    sig = bytes.fromhex(other["signature"][2:])
    call = encode_call(manifest, "Coin", "permit", [spoiled.address, admin.address, 1, int(other["deadline"]),
                                                   sig[64], sig[:32], sig[32:64]])  # fmt: skip
    send_as(chain, admin.address, coin, call.data)

    async with RpcClient([chain]) as client:
        ctx = job_context(manifest, pool, client)
        assert await approve_pending(ctx) == "approved 3, refused 0"  # the permits count as allowance
        assert (await settle_approved(ctx)).startswith("3 intents in 1 settle requests")
        payload = await pool.fetchval("SELECT payload FROM tx_requests WHERE kind = 'settle'")
        assert [p is not None for p in payload["permits"]] == [True, True, True]
        assert validate_settle(payload) == payload  # the relayer's own validator agrees
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
    await index(manifest, pool, chain)
    tx_hash = await pool.fetchval("SELECT tx_hash FROM tx_requests WHERE kind = 'settle' AND status = 'confirmed'")
    assert tx_hash is not None

    _, mine = await app.asgi_client.get("/api/contracts/intents", headers=fan.headers)
    assert [(i["amount"], i["status"], i["tx_hash"], i["gasless"]) for i in mine.json["data"]["items"]] == [
        ("200", "settled", tx_hash, True),
        ("300", "settled", tx_hash, True),
    ]
    _, theirs = await app.asgi_client.get("/api/contracts/intents", headers=spoiled.headers)
    [rejected] = theirs.json["data"]["items"]
    assert (rejected["status"], rejected["reason"]) == ("rejected", "insufficient_allowance")
    assert balance_of(chain, coin, fan.address) == 500 and balance_of(chain, coin, spoiled.address) == 1000
    assert balance_of(chain, coin, router) == 500
    assert eth_of(chain, fan.address) == 0 and eth_of(chain, spoiled.address) == 0  # never paid gas


async def test_permits_that_cannot_work_are_refused(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan = await person(app, pool)
    mint_directly(chain, manifest, fan.address, 1000)
    body = intent(manifest, fan, star.address, GIFT, 300, nonce=1)
    past = int(time.time()) - 10
    cases = {
        "below the amount": permit(manifest, fan, 299, nonce=0),
        "expired": permit(manifest, fan, 300, nonce=0, deadline=past),
        "another signer": permit(manifest, fan, 300, nonce=0, key=Account.create().key),
        "another spender": permit(manifest, fan, 300, nonce=0, spender=admin.address),
        "a signed field changed": {**permit(manifest, fan, 300, nonce=0), "value": "301"},
    }
    for what, bad in cases.items():
        response = await gift(app, fan, {**body, "permit": bad})
        assert response.status == 400, (what, response.text)
        assert response.json["error"]["code"] == "bad_permit", (what, response.text)
    clap = intent(manifest, fan, star.address, CLAP, 5, nonce=2)
    _, on_clap = await app.asgi_client.post(
        "/api/contracts/clap", headers=fan.headers, json={**clap, "permit": permit(manifest, fan, 5, nonce=0)}
    )
    assert on_clap.status == 400 and on_clap.json["error"]["code"] == "bad_permit"
    malformed = await gift(app, fan, {**body, "permit": {"value": "x", "nonce": "0", "deadline": "1"}})
    assert malformed.status == 400
    assert await pool.fetchval("SELECT count(*) FROM tip_intents") == 0

    # A permit whose Coin nonce is already used on chain is refused too.
    used = permit(manifest, fan, 1, nonce=0, spender=admin.address)
    sig = bytes.fromhex(used["signature"][2:])
    call = encode_call(manifest, "Coin", "permit", [fan.address, admin.address, 1, int(used["deadline"]),
                                                   sig[64], sig[:32], sig[32:64]])  # fmt: skip
    send_as(chain, admin.address, manifest.contract("Coin").address, call.data)
    stale = await gift(app, fan, {**body, "permit": permit(manifest, fan, 300, nonce=0)})
    assert stale.status == 400 and stale.json["error"]["details"]["next"] == "1", stale.text
    fresh = await gift(app, fan, {**body, "permit": permit(manifest, fan, 300, nonce=1)})
    assert fresh.status == 201, fresh.text
