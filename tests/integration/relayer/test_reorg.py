"""A reorg drops a mined-but-not-final transaction: it is sent again (or re-signed if its nonce was taken)."""

from __future__ import annotations

import asyncpg
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.helpers import balance_of, new_ref, relay_all
from tests.integration.relayer.common import chain_nonce, mint, relayer_for


async def test_a_transaction_dropped_by_a_rollback_is_rebroadcast_and_confirmed_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, confirmations=3)
        await relayer.prepare()
        start = chain_nonce(chain, relayer.address, "latest")
        request_id = await store.enqueue("mint", "reorged", mint(fan, 9, new_ref()))
        await relayer.tick()
        sent = await store.get(request_id)
        receipt = await client.call("eth_getTransactionReceipt", [sent["tx_hash"]])
        assert receipt is not None
        assert sent["status"] == "submitted"  # mined, not final

        rpc(chain, "anvil_rollback", [1])
        assert await client.call("eth_getTransactionReceipt", [sent["tx_hash"]]) is None
        assert balance_of(chain, manifest.contract("Coin").address, fan) == 0

        await relayer.check_submitted()  # unknown to the node: the same raw tx is sent again
        rpc(chain, "anvil_mine", ["0x3"])
        await relay_all(relayer, store)
        done = await store.get(request_id)
    assert done["status"] == "confirmed"
    assert done["tx_hash"] == sent["tx_hash"]
    assert done["nonce"] == start
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 9
    assert chain_nonce(chain, relayer.address, "latest") == start + 1


async def test_a_dropped_transaction_whose_nonce_was_taken_is_resigned_with_a_fresh_nonce(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan, signer = Account.create().address, Account.from_key(relayer_key)
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, confirmations=3)
        await relayer.prepare()
        start = chain_nonce(chain, relayer.address, "latest")
        request_id = await store.enqueue("mint", "taken", mint(fan, 4, new_ref()))
        await relayer.tick()
        sent = await store.get(request_id)
        rpc(chain, "anvil_rollback", [1])
        # Another transaction of the same signer takes the nonce on the new branch.
        other = signer.sign_transaction(
            {"chainId": manifest.chain_id, "nonce": start, "to": signer.address, "value": 0, "gas": 21000,
             "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2}
        )  # fmt: skip
        rpc(chain, "eth_sendRawTransaction", ["0x" + other.raw_transaction.hex()])

        await relayer.check_submitted()  # refused (nonce too low) and its nonce is taken: back to the queue
        requeued = await store.get(request_id)
        assert requeued["status"] == "pending"
        for _ in range(5):
            await relayer.tick()
            rpc(chain, "anvil_mine", ["0x3"])
        await relay_all(relayer, store)
        done = await store.get(request_id)
    assert done["status"] == "confirmed"
    assert done["nonce"] == start + 1
    assert done["tx_hash"] != sent["tx_hash"]
    assert sent["tx_hash"] in done["tx_hashes"]
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 4
    assert chain_nonce(chain, relayer.address, "latest") == start + 2


async def test_a_nonce_gap_is_reconciled_on_start(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key)
        start = chain_nonce(chain, relayer.address)
        # Persisted next nonce far above the chain, with no in-flight transaction holding the gap.
        await pool.execute(store.q.set_nonce, manifest.chain_id, relayer.address, start + 5)
        await relayer.prepare()
        assert await pool.fetchval(store.q.lock_nonce, manifest.chain_id, relayer.address) == start
        request_id = await store.enqueue("mint", "gap", mint(fan, 2, new_ref()))
        await relay_all(relayer, store)
        done = await store.get(request_id)
    assert done["status"] == "confirmed"
    assert done["nonce"] == start
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 2


async def test_a_hole_below_an_in_flight_transaction_is_filled(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key)
        await relayer.prepare()
        start = chain_nonce(chain, relayer.address)
        # Sign a request at start + 1, as if start had been handed out and lost: the tx can't mine.
        await pool.execute(store.q.set_nonce, manifest.chain_id, relayer.address, start + 1)
        request_id = await store.enqueue("mint", "hole", mint(fan, 3, new_ref()))
        assert await relayer.submit_one()
        assert (await store.get(request_id))["nonce"] == start + 1
        assert await relayer.check_submitted() == 0

        restarted, _ = relayer_for(manifest, pool, client, relayer_key)
        await restarted.prepare()  # fills `start` with a zero-value self-transaction
        await relay_all(restarted, store)
        done = await store.get(request_id)
    assert done["status"] == "confirmed"
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 3
    assert chain_nonce(chain, relayer.address, "latest") == start + 2
