"""Every request kind is built into its contract call, pre-flighted and sent against the deployed suite."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import InvalidInput
from relayer.store import RelayerStore
from tests.integration.helpers import balance_of, relay_all
from tests.integration.relayer.common import relayer_for

FAR = 2**40
BAD_SIGNATURE = "0x" + "11" * 65


async def _relay(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, key: str, kind: str, payload: dict[str, Any]
) -> dict[str, Any]:
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, key)
        await relayer.prepare()
        request_id = await store.enqueue(kind, f"{kind}:1", payload)
        await relay_all(relayer, store)
    row = await store.get(request_id)
    assert row is not None
    return dict(row)


async def test_accrue_mints_engagement_to_each_account(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fans = [Account.create().address for _ in range(3)]
    row = await _relay(
        chain, manifest, pool, relayer_key, "accrue", {"epoch": 7, "accounts": fans, "amounts": [1, 2, 3]}
    )
    assert row["status"] == "confirmed"
    engagement = manifest.contract("Engagement").address
    assert [balance_of(chain, engagement, fan) for fan in fans] == [1, 2, 3]


async def test_settle_encodes_the_intent_tuples(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    intent = {
        "from": Account.create().address,
        "to": Account.create().address,
        "token": manifest.contract("Coin").address,
        "amount": 5,
        "kind": 0,
        "nonce": 1,
        "deadline": FAR,
    }
    row = await _relay(
        chain, manifest, pool, relayer_key, "settle", {"intents": [intent], "signatures": [BAD_SIGNATURE]}
    )
    assert row["status"] == "confirmed"  # a bad intent is skipped, not reverted
    receipt = rpc(chain, "eth_getTransactionReceipt", [row["tx_hash"]])
    assert isinstance(receipt, dict)
    router = manifest.contract("TipRouter").address.lower()
    assert [log["address"].lower() for log in receipt["logs"]] == [router]  # IntentRejected


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("end_auction", {"auction_id": 42}, "auction: not active"),
        (
            "burn_pass",
            {"token_id": 9, "holder": "0x" + "ab" * 20, "deadline": FAR, "signature": BAD_SIGNATURE},
            "erc721: invalid token ID",
        ),
        (
            "withdraw_for",
            {
                "creator": "0x" + "ab" * 20,
                "token": "0x" + "cd" * 20,
                "amount": 1,
                "nonce": 1,
                "deadline": FAR,
                "signature": BAD_SIGNATURE,
            },
            "invalid signature",
        ),
    ],
)
async def test_calls_reach_their_contract_and_reverts_are_caught_before_sending(
    chain: str,
    manifest: Manifest,
    pool: asyncpg.Pool,
    relayer_key: str,
    kind: str,
    payload: dict,
    reason: str,
) -> None:
    row = await _relay(chain, manifest, pool, relayer_key, kind, payload)
    assert row["status"] == "failed"
    assert reason in row["last_error"]
    assert row["tx_hash"] is None


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("accrue", {"epoch": 1, "accounts": ["0x" + "ab" * 20], "amounts": [1, 2]}),
        ("accrue", {"epoch": 1, "accounts": [], "amounts": []}),
        ("accrue", {"epoch": -1, "accounts": ["0x" + "ab" * 20], "amounts": [1]}),
        ("end_auction", {"auction_id": "x"}),
        ("settle", {"intents": [{"from": "0x1"}], "signatures": [BAD_SIGNATURE]}),
        ("settle", {"intents": [], "signatures": []}),
        ("burn_pass", {"token_id": 1, "holder": "0x" + "ab" * 20, "deadline": 1, "signature": "0x12"}),
        (
            "withdraw_for",
            {
                "creator": "0x" + "ab" * 20,
                "token": "0x" + "cd" * 20,
                "amount": 0,
                "nonce": 1,
                "deadline": 1,
                "signature": BAD_SIGNATURE,
            },
        ),
        ("teleport", {}),
    ],
)
async def test_malformed_payloads_of_every_kind_are_refused(
    pool: asyncpg.Pool, kind: str, payload: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        await RelayerStore(pool).enqueue(kind, "k", payload)
