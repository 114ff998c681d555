"""The signer pool: four keys, each its own nonce lane; a stuck key (or one at its cap) does not stall the others."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator

import asyncpg
import pytest
from eth_account import Account

from anvil.node import POOL_KEYS, rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from relayer.app import Relayer
from relayer.store import RelayerStore
from tests.integration.helpers import balance_of, new_ref, relay_all
from tests.integration.relayer.common import chain_nonce, drain, mint

GWEI = 10**9


def pooled(manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, key: str, **options: int) -> Relayer:
    """A relayer sending from ``key`` (the default) and the three dev pool keys (granted every role by deploy)."""
    others = [Account.from_key(k) for k in POOL_KEYS]
    store = RelayerStore(pool)
    return Relayer(manifest, store, client, Account.from_key(key), pool=others, **options)  # type: ignore[arg-type]


def starts(chain: str, relayer: Relayer) -> dict[str, int]:
    return {address: chain_nonce(chain, address, "latest") for address in relayer.keys}


async def lanes(pool: asyncpg.Pool) -> dict[str, list[int]]:
    """The nonces each key used, in order."""
    used: dict[str, list[int]] = defaultdict(list)
    for row in await pool.fetch("SELECT signer, nonce FROM tx_requests WHERE nonce IS NOT NULL ORDER BY nonce"):
        used[row["signer"]].append(row["nonce"])
    return used


def assert_no_gap(chain: str, used: dict[str, list[int]], start: dict[str, int]) -> None:
    for address, nonces in used.items():
        assert nonces == list(range(start[address], start[address] + len(nonces))), address  # no gap, no reuse
        assert chain_nonce(chain, address, "latest") == start[address] + len(nonces), address


async def test_the_pool_sends_from_four_keys_with_no_nonce_gap_on_any(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fans = [Account.create().address for _ in range(40)]
    async with RpcClient([chain]) as client:
        relayer = pooled(manifest, pool, client, relayer_key, send_batch=5)
        store = relayer.store
        await relayer.prepare()
        start = starts(chain, relayer)
        for i, fan in enumerate(fans):
            await store.enqueue("mint", f"pool:{i}", mint(fan, i + 1, new_ref()))
        await relay_all(relayer, store)
    rows = await pool.fetch("SELECT status, tx_hashes FROM tx_requests")
    assert [r["status"] for r in rows] == ["confirmed"] * len(fans)
    assert sum(len(r["tx_hashes"]) for r in rows) == len(fans)  # one transaction each
    used = await lanes(pool)
    assert sorted(used) == sorted(relayer.keys)  # every key took part (least-loaded first)
    assert_no_gap(chain, used, start)
    token = manifest.contract("Coin").address
    assert [balance_of(chain, token, fan) for fan in fans] == [i + 1 for i in range(len(fans))]


async def test_two_relayers_on_one_pool_of_four_keys_send_each_request_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, relayer_key: str
) -> None:
    fans = [Account.create().address for _ in range(40)]
    other_pool = await create_pool(db_url, max_size=5)
    try:
        async with RpcClient([chain]) as one, RpcClient([chain]) as two:
            first, second = pooled(manifest, pool, one, relayer_key), pooled(manifest, other_pool, two, relayer_key)
            await first.prepare()
            await second.prepare()
            start = starts(chain, first)
            for i, fan in enumerate(fans):
                await first.store.enqueue("mint", f"pair:{i}", mint(fan, 1, new_ref()))
            sent = await asyncio.gather(drain(first), drain(second))
    finally:
        await other_pool.close()
    assert sum(sent) == len(fans), sent
    rows = await pool.fetch("SELECT status, tx_hashes FROM tx_requests")
    assert [r["status"] for r in rows] == ["confirmed"] * len(fans)
    assert sum(len(r["tx_hashes"]) for r in rows) == len(fans)
    used = await lanes(pool)
    assert len(used) > 1, used  # submit_one sends one request a claim: the lanes alternate
    assert_no_gap(chain, used, start)


@pytest.fixture
def automine_off(chain: str) -> Iterator[str]:
    rpc(chain, "evm_setAutomine", [False])
    try:
        yield chain
    finally:
        rpc(chain, "anvil_dropAllTransactions")  # the held tx and what queued behind it
        rpc(chain, "evm_setAutomine", [True])


def mine(chain: str, base_fee: int) -> None:
    rpc(chain, "anvil_setNextBlockBaseFeePerGas", [hex(base_fee)])
    rpc(chain, "evm_mine")


async def test_a_stuck_key_at_its_cap_does_not_stall_the_requests_routed_to_the_others(
    automine_off: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    chain, cap, count = automine_off, 3, 30
    stuck = Account.from_key(POOL_KEYS[0]).address
    fans = [Account.create().address for _ in range(count)]
    # The stuck key's next nonce is held by a transaction with a tiny fee (sent from the unlocked dev account
    # while the base fee is 1 wei); then every block's base fee is 0.1 gwei: it is never mined, nor what the
    # relayer queues behind it on that key (nor can the relayer replace it: it is not the relayer's).
    mine(chain, 1)
    held = rpc(chain, "eth_sendTransaction", [{"from": stuck, "to": stuck, "value": "0x0", "gas": "0x5208",
                                              "maxFeePerGas": "0xa", "maxPriorityFeePerGas": "0x1"}])  # fmt: skip
    async with RpcClient([chain]) as client:
        relayer = pooled(manifest, pool, client, relayer_key, send_batch=2, max_pending_per_key=cap,
                         stuck_blocks=1000, stuck_seconds=3600)  # fmt: skip
        store = relayer.store
        await relayer.prepare()
        start = starts(chain, relayer)
        start[stuck.lower()] += 1  # the held transaction's nonce (then a filler's): none of the requests'
        for i, fan in enumerate(fans):
            await store.enqueue("mint", f"stuck-pool:{i}", mint(fan, i + 1, new_ref()))
        for _ in range(200):
            await relayer.tick()
            mine(chain, GWEI // 10)
            counts = await store.status_counts()
            if counts.get("confirmed", 0) == count - cap:
                break
        else:
            pytest.fail(f"the other keys stalled: {counts}")
        await relayer.tick()
        by_key = {r["signer"]: r for r in await pool.fetch(
            "SELECT signer, count(*) FILTER (WHERE status = 'submitted') AS inflight, count(*) AS n"
            " FROM tx_requests WHERE signer IS NOT NULL GROUP BY signer")}  # fmt: skip
        assert await store.status_counts() == {"confirmed": count - cap, "submitted": cap}
        assert by_key[stuck.lower()]["inflight"] == by_key[stuck.lower()]["n"] == cap  # at its cap, nothing more
        assert len(by_key) == 4 and all(r["inflight"] == 0 for k, r in by_key.items() if k != stuck.lower())

        # Once stuck for stuck_seconds, the relayer fills the hole under its own transactions on that key (a
        # zero-value self-transaction at market fees: it replaces the held one, or takes the nonce if the node
        # dropped it); the key's queue follows, rebroadcast where the node forgot it.
        relayer.stuck_seconds = 0.5
        for _ in range(100):
            await relayer.tick()
            mine(chain, GWEI // 10)
            if not (await store.status_counts()).get("submitted"):
                break
            await asyncio.sleep(0.05)
        assert await store.status_counts() == {"confirmed": count}
        assert await client.call("eth_getTransactionReceipt", [held]) is None  # a filler took its nonce
    rows = await pool.fetch("SELECT tx_hashes, replacements, signer FROM tx_requests")
    # One transaction each, but for the stuck key's: once it moves, its next may be replaced (stuck by time).
    assert sum(len(r["tx_hashes"]) - r["replacements"] for r in rows) == count
    assert all(r["replacements"] == 0 for r in rows if r["signer"] != stuck.lower())
    assert_no_gap(chain, await lanes(pool), start)
    token = manifest.contract("Coin").address
    assert [balance_of(chain, token, fan) for fan in fans] == [i + 1 for i in range(count)]
