"""A transaction that is not mined is replaced with the same nonce and bumped fees; whichever is mined confirms."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from eth_account import Account
from prometheus_client import REGISTRY

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.helpers import balance_of, new_ref, relay_all
from tests.integration.relayer.common import chain_nonce, mint, relayer_for


@pytest.fixture
def automine_off(chain: str) -> Iterator[str]:
    rpc(chain, "evm_setAutomine", [False])
    try:
        yield chain
    finally:
        rpc(chain, "evm_mine")
        rpc(chain, "evm_setAutomine", [True])


def _replacements() -> float:
    return REGISTRY.get_sample_value("relayer_replacements_total", {"kind": "mint"}) or 0.0


async def test_a_stuck_transaction_is_replaced_with_higher_fees_and_the_mined_one_confirms(
    automine_off: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    chain, fan = automine_off, Account.create().address
    replacements_before = _replacements()
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, stuck_seconds=0.5, stuck_blocks=100)
        await relayer.prepare()
        start = chain_nonce(chain, relayer.address, "latest")
        request_id = await store.enqueue("mint", "stuck", mint(fan, 7, new_ref()))
        assert await relayer.submit_one()
        first = await store.get(request_id)
        assert first["status"] == "submitted"
        assert first["nonce"] == start

        await relayer.check_submitted()  # not stuck yet
        assert (await store.get(request_id))["tx_hash"] == first["tx_hash"]
        await asyncio.sleep(0.6)
        await relayer.check_submitted()  # stuck by time: no block was mined (automine off)

        second = await store.get(request_id)
        assert second["status"] == "submitted"
        assert second["tx_hash"] != first["tx_hash"]
        assert list(second["tx_hashes"]) == [first["tx_hash"], second["tx_hash"]]
        assert second["nonce"] == first["nonce"]
        assert second["replacements"] == 1
        pooled = await client.call("eth_getTransactionByHash", [second["tx_hash"]])
        assert pooled is not None
        assert int(pooled["nonce"], 16) == start
        assert int(pooled["maxFeePerGas"], 16) * 1000 >= int(first["max_fee_per_gas"]) * 1125
        assert int(pooled["maxPriorityFeePerGas"], 16) * 1000 >= int(first["max_priority_fee_per_gas"]) * 1125
        assert _replacements() == replacements_before + 1

        rpc(chain, "evm_mine")
        await relay_all(relayer, store)
        done = await store.get(request_id)
        assert done["status"] == "confirmed"
        assert done["tx_hash"] == second["tx_hash"]
        assert await client.call("eth_getTransactionReceipt", [first["tx_hash"]]) is None
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 7  # exactly one effect
    assert chain_nonce(chain, relayer.address, "latest") == start + 1


async def test_no_replacement_when_the_cap_leaves_no_room(
    automine_off: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    chain = automine_off
    async with RpcClient([chain]) as client:
        # The cap equals the first transaction's max fee (market fees are far below 1 gwei + tip on anvil).
        relayer, store = relayer_for(manifest, pool, client, relayer_key, stuck_seconds=0.1, stuck_blocks=100)
        await relayer.prepare()
        request_id = await store.enqueue("mint", "capped", mint(Account.create().address, 1, new_ref()))
        assert await relayer.submit_one()
        first = await store.get(request_id)
        relayer.max_fee = int(first["max_fee_per_gas"])
        await asyncio.sleep(0.2)
        await relayer.check_submitted()
        assert (await store.get(request_id))["tx_hash"] == first["tx_hash"]
        rpc(chain, "evm_mine")
        await relay_all(relayer, store)
        assert (await store.get(request_id))["status"] == "confirmed"


async def test_a_transaction_priced_out_by_a_base_fee_spike_is_replaced_after_n_blocks(
    automine_off: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    chain, fan = automine_off, Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, stuck_seconds=3600, stuck_blocks=2)
        await relayer.prepare()
        request_id = await store.enqueue("mint", "spike", mint(fan, 11, new_ref()))
        assert await relayer.submit_one()
        first = await store.get(request_id)
        rpc(chain, "anvil_setNextBlockBaseFeePerGas", [hex(int(first["max_fee_per_gas"]) * 50)])
        rpc(chain, "evm_mine")  # blocks go on without our tx: its max fee is below the base fee
        await relayer.check_submitted()
        assert (await store.get(request_id))["replacements"] == 0  # one block: not yet stuck
        rpc(chain, "evm_mine")
        assert await client.call("eth_getTransactionReceipt", [first["tx_hash"]]) is None
        await relayer.check_submitted()  # two blocks: replaced at the market's (spiked) fees
        second = await store.get(request_id)
        assert second["replacements"] == 1
        assert int(second["max_fee_per_gas"]) > int(first["max_fee_per_gas"]) * 10
        rpc(chain, "evm_mine")
        await relay_all(relayer, store)
        done = await store.get(request_id)
    assert done["status"] == "confirmed"
    assert done["tx_hash"] == second["tx_hash"]
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 11


async def test_a_transaction_dropped_from_the_pool_is_sent_again(
    automine_off: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    chain, fan = automine_off, Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key)
        await relayer.prepare()
        request_id = await store.enqueue("mint", "dropped", mint(fan, 6, new_ref()))
        assert await relayer.submit_one()
        sent = await store.get(request_id)
        rpc(chain, "anvil_dropTransaction", [sent["tx_hash"]])
        assert await client.call("eth_getTransactionByHash", [sent["tx_hash"]]) is None
        await relayer.check_submitted()  # unknown to the node: the persisted raw tx is sent again
        assert await client.call("eth_getTransactionByHash", [sent["tx_hash"]]) is not None
        rpc(chain, "evm_mine")
        await relay_all(relayer, store)
        done = await store.get(request_id)
    assert done["status"] == "confirmed"
    assert done["tx_hash"] == sent["tx_hash"]
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 6
