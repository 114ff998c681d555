"""The relayer against real anvil and Postgres: idempotency, pre-flight, crash between sign and send."""

from __future__ import annotations

import asyncpg
import pytest
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import InvalidInput
from relayer.store import RelayerStore
from tests.integration.helpers import balance_of, make_relayer, new_ref, relay_all


def _chain_nonce(url: str, address: str) -> int:
    return int(str(rpc(url, "eth_getTransactionCount", [address, "pending"])), 16)


async def test_enqueue_is_idempotent_per_key(pool: asyncpg.Pool) -> None:
    store = RelayerStore(pool)
    payload = {"to": Account.create().address, "amount": 5, "payment_ref": new_ref()}
    first = await store.enqueue("mint", "pay:1", payload)
    assert await store.enqueue("mint", "pay:1", payload) == first
    with pytest.raises(InvalidInput, match="another request"):
        await store.enqueue("mint", "pay:1", {**payload, "amount": 6})
    assert await pool.fetchval("SELECT count(*) FROM tx_requests") == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"to": "0x123", "amount": 1, "payment_ref": "0x" + "11" * 32},
        {"to": "0x" + "ab" * 20, "amount": 0, "payment_ref": "0x" + "11" * 32},
        {"to": "0x" + "ab" * 20, "amount": "1e3", "payment_ref": "0x" + "11" * 32},
        {"to": "0x" + "ab" * 20, "amount": 2**256, "payment_ref": "0x" + "11" * 32},
        {"to": "0x" + "ab" * 20, "amount": 1, "payment_ref": "0x" + "00" * 32},
        {"to": "0x" + "ab" * 20, "amount": 1, "payment_ref": "0x1234"},
        {"to": "0x" + "ab" * 20, "amount": 1},
    ],
)
async def test_malformed_requests_are_refused(pool: asyncpg.Pool, payload: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        await RelayerStore(pool).enqueue("mint", "k", payload)
    assert await pool.fetchval("SELECT count(*) FROM tx_requests") == 0


async def test_a_request_that_would_revert_is_failed_without_spending_gas(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    ref, fan = new_ref(), Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await store.enqueue("mint", "first", {"to": fan, "amount": 5, "payment_ref": ref})
        await relay_all(relayer, store)
        nonce_before = _chain_nonce(chain, relayer.address)
        second = await store.enqueue("mint", "second", {"to": fan, "amount": 5, "payment_ref": ref})
        await relay_all(relayer, store)
    row = await store.get(second)
    assert row is not None
    assert row["status"] == "failed"
    assert "payment_ref used" in row["last_error"]
    assert row["tx_hash"] is None
    assert _chain_nonce(chain, relayer.address) == nonce_before
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 5


async def test_a_crash_between_signing_and_sending_sends_the_same_transaction_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        first = await store.enqueue("mint", "a", {"to": fan, "amount": 1, "payment_ref": new_ref()})
        # Sign and persist, then "crash" before the broadcast.
        async with pool.acquire() as conn, conn.transaction():
            request = await conn.fetchrow(store.q.claim_pending, 1)
            assert await relayer._prepare_tx(conn, request) is not None
        row = await store.get(first)
        assert row["status"] == "submitted"
        assert await client.call("eth_getTransactionByHash", [row["tx_hash"]]) is None
        second = await store.enqueue("mint", "b", {"to": fan, "amount": 2, "payment_ref": new_ref()})

        restarted, _ = make_relayer(manifest, pool, client, relayer_key)
        await restarted.prepare()
        await relay_all(restarted, store)
    rows = [await store.get(first), await store.get(second)]
    assert [r["status"] for r in rows] == ["confirmed", "confirmed"]
    assert rows[0]["tx_hash"] == row["tx_hash"]  # the persisted transaction, not a new one
    assert [r["nonce"] for r in rows] == [row["nonce"], row["nonce"] + 1]
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 3
