"""The hourly approval policy on real anvil: block lists (the creator's and the admin's), balance
and allowance (counting intents approved before), the per-user daily cap, deadlines and the
signature checked again; and an intent the chain rejects at settlement shows its reason."""

from __future__ import annotations

import time

import asyncpg
from sanic import Sanic

from anvil.node import rpc
from core.chain.eip712 import INTENT_TYPES
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.calls import encode_call
from relayer.jobs.intents import approve_pending, settle_approved
from tests.integration.api.chain import index
from tests.integration.api.tipping import (
    Person,
    approve_router,
    creator,
    fund,
    intent,
    job_context,
    person,
    sign,
)
from tests.integration.helpers import DEPLOYER, make_relayer, mint_directly, relay_all

CLAP, GIFT = 0, 1


def _chain_time(chain: str) -> int:
    block = rpc(chain, "eth_getBlockByNumber", ["latest", False])
    assert isinstance(block, dict)
    return int(block["timestamp"], 16)


async def _submit(app: Sanic, fan: Person, route: str, body: dict) -> str:
    _, response = await app.asgi_client.post(f"/api/contracts/{route}", headers=fan.headers, json=body)
    assert response.status == 201, response.text
    return str(response.json["data"]["intent"]["digest"])


async def _status(app: Sanic, fan: Person, digest: str) -> tuple[str, str | None]:
    _, response = await app.asgi_client.get(f"/api/contracts/intents/{digest}", headers=fan.headers)
    assert response.status == 200, response.text
    data = response.json["data"]["intent"]
    return data["status"], data["reason"]


async def test_the_approval_policy_refuses_with_a_reason(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    ok_fan, blocked_fan, barred_fan, no_allowance, poor, greedy, tampered, late = [
        await person(app, pool) for _ in range(8)
    ]
    for fan in (ok_fan, blocked_fan, barred_fan, greedy, tampered, late):
        await fund(chain, manifest, pool, relayer_key, fan.address, tk=100, allowance=100)
    mint_directly(chain, manifest, no_allowance.address, 100)
    await fund(chain, manifest, pool, relayer_key, poor.address, tki=500)

    # The creator blocks one fan (by account); the admin bars another fan's address.
    _, blocked = await app.asgi_client.post(f"/api/creators/{blocked_fan.id}/block", headers=star.headers)
    assert blocked.status == 200 and blocked.json["data"] == {"user_id": blocked_fan.id, "blocked": True}
    _, barred = await app.asgi_client.put(
        f"/api/admin/blocked-addresses/{barred_fan.address}", headers=admin.headers, json={"reason": "fraud"}
    )
    assert barred.status == 200, barred.text
    _, not_admin = await app.asgi_client.put(
        f"/api/admin/blocked-addresses/{ok_fan.address}", headers=star.headers, json={}
    )
    assert not_admin.status == 403

    to = star.address
    # Ahead of both clocks: the API checks the deadline against its own, the policy against the chain's.
    soon = max(int(time.time()), _chain_time(chain)) + 300  # room for a slow machine before its submission
    expected = {
        await _submit(app, ok_fan, "gift", intent(manifest, ok_fan, to, GIFT, 10, 1)): ("approved", None),
        await _submit(app, blocked_fan, "gift", intent(manifest, blocked_fan, to, GIFT, 10, 1)): ("refused", "blocked"),
        await _submit(app, barred_fan, "gift", intent(manifest, barred_fan, to, GIFT, 10, 1)): ("refused", "blocked"),
        await _submit(app, no_allowance, "gift", intent(manifest, no_allowance, to, GIFT, 10, 1)):
            ("refused", "insufficient_allowance"),
        await _submit(app, poor, "clap", intent(manifest, poor, to, CLAP, 300, 1)): ("approved", None),
        # 300 are reserved by the first clap: 500 do not cover another 300.
        await _submit(app, poor, "clap", intent(manifest, poor, to, CLAP, 300, 2)): ("refused", "insufficient_balance"),
        await _submit(app, greedy, "gift", intent(manifest, greedy, to, GIFT, 1, 1)): ("approved", None),
        await _submit(app, greedy, "gift", intent(manifest, greedy, to, GIFT, 1, 2)): ("approved", None),
        await _submit(app, greedy, "gift", intent(manifest, greedy, to, GIFT, 1, 3)): ("refused", "daily_cap"),
        await _submit(app, late, "gift", intent(manifest, late, to, GIFT, 1, 1, deadline=soon)):
            ("refused", "expired"),
    }  # fmt: skip
    digest = await _submit(app, tampered, "gift", intent(manifest, tampered, to, GIFT, 5, 1))
    other = {"from": tampered.address, "to": to, "token": manifest.contract("Coin").address, "amount": 6, "kind": 1,
             "nonce": 1, "deadline": int(time.time()) + 3600}  # fmt: skip
    forged = sign(late.account.key, manifest, "Intent", INTENT_TYPES, other)
    await pool.execute("UPDATE tip_intents SET signature = $2 WHERE digest = $1", digest, forged)
    expected[digest] = ("refused", "bad_signature")
    rpc(chain, "evm_mine", [soon + 1])  # the chain passes the late intent's deadline

    async with RpcClient([chain]) as client:
        ctx = job_context(manifest, pool, client, tips_daily_max_intents=2)
        summary = await approve_pending(ctx)
        assert summary == (
            "approved 4, refused 7 (bad_signature 1, blocked 2, daily_cap 1, expired 1, insufficient_allowance 1, "
            "insufficient_balance 1)"
        )
        assert await approve_pending(ctx) == "approved 0, refused 0"  # each intent is decided once
    owners = {r["digest"]: r["user_id"] for r in await pool.fetch("SELECT digest, user_id FROM tip_intents")}
    people = {p.id: p for p in (ok_fan, blocked_fan, barred_fan, no_allowance, poor, greedy, tampered, late)}
    for d, status in expected.items():
        assert await _status(app, people[owners[d]], d) == status, d

    # Unblocked, the fan's next gift is approved.
    _, unblocked = await app.asgi_client.delete(f"/api/creators/{blocked_fan.id}/block", headers=star.headers)
    assert unblocked.json["data"]["blocked"] is False
    await _submit(app, blocked_fan, "gift", intent(manifest, blocked_fan, to, GIFT, 10, 2))
    async with RpcClient([chain]) as client:
        assert await approve_pending(job_context(manifest, pool, client)) == "approved 1, refused 0"


async def test_an_intent_the_chain_rejects_shows_the_contracts_reason(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan = await person(app, pool)
    await fund(chain, manifest, pool, relayer_key, fan.address, tk=50, allowance=50)
    digest = await _submit(app, fan, "gift", intent(manifest, fan, star.address, GIFT, 20, 1))
    async with RpcClient([chain]) as client:
        ctx = job_context(manifest, pool, client)
        assert await approve_pending(ctx) == "approved 1, refused 0"
        approve_router(chain, manifest, fan.address, 0)  # the fan revokes the allowance before the weekly settle
        await settle_approved(ctx)
        assert await _status(app, fan, digest) == ("submitted", None)
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
    await index(manifest, pool, chain)
    assert await _status(app, fan, digest) == ("rejected", "insufficient_allowance")


def _router_admin(chain: str, manifest: Manifest, function: str) -> None:
    call = encode_call(manifest, "TipRouter", function, [])
    rpc(chain, "eth_sendTransaction", [{"from": DEPLOYER, "to": call.to, "data": call.data}])


async def test_a_batch_whose_settle_fails_is_retried_in_a_new_batch(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan = await person(app, pool)
    await fund(chain, manifest, pool, relayer_key, fan.address, tk=50, allowance=50)
    digest = await _submit(app, fan, "gift", intent(manifest, fan, star.address, GIFT, 20, 1))
    _router_admin(chain, manifest, "pause")
    async with RpcClient([chain]) as client:
        ctx = job_context(manifest, pool, client)
        await approve_pending(ctx)
        await settle_approved(ctx)
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)  # pre-flight reverts: the request fails, no gas spent
        status, reason = await _status(app, fan, digest)
        assert status == "failed" and reason is not None and "paused" in reason
        _router_admin(chain, manifest, "unpause")
        summary = await settle_approved(ctx)
        assert (
            summary.startswith("1 intents in 1 settle requests") and "(1 re-batched after a failed settle)" in summary
        )
        await relay_all(relayer, store)
    await index(manifest, pool, chain)
    assert await _status(app, fan, digest) == ("settled", None)
    keys = [
        r["idempotency_key"] for r in await pool.fetch("SELECT idempotency_key FROM tx_requests WHERE kind = 'settle'")
    ]
    assert len(set(keys)) == 2
