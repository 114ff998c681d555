"""`requests cancel ID`: a submitted request's tx is replaced by a zero-value self-transaction at its nonce."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import asyncpg
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.settings import ROOT
from tests.integration.helpers import balance_of, new_ref, relay_all
from tests.integration.relayer.common import chain_nonce, mint, relayer_for
from tests.integration.relayer.test_stuck import automine_off  # noqa: F401 (fixture)


def _cli_cancel(db_url: str, request_id: int) -> tuple[int, dict[str, object]]:
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "relayer", "requests", "cancel", str(request_id)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


async def test_a_submitted_request_is_cancelled_by_a_self_transaction_at_its_nonce(
    automine_off: str,  # noqa: F811 (fixture)
    manifest: Manifest,
    pool: asyncpg.Pool,
    db_url: str,
    relayer_key: str,
) -> None:
    chain, fan = automine_off, Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, stuck_seconds=3600, stuck_blocks=100)
        await relayer.prepare()
        start = chain_nonce(chain, relayer.address, "latest")
        request_id = await store.enqueue("mint", "obsolete", mint(fan, 9, new_ref()))
        assert await relayer.submit_one()
        sent = await store.get(request_id)
        assert sent["status"] == "submitted"

        assert _cli_cancel(db_url, request_id) == (0, {"id": request_id, "cancel": "cancel_requested"})
        assert _cli_cancel(db_url, request_id) == (1, {"id": request_id, "cancel": "not_cancellable"})  # once
        await relayer.check_submitted()
        cancelling = await store.get(request_id)
        assert cancelling["status"] == "submitted"
        assert cancelling["cancel_tx_hash"] == cancelling["tx_hash"] != sent["tx_hash"]
        assert list(cancelling["tx_hashes"]) == [sent["tx_hash"], cancelling["tx_hash"]]
        pooled = await client.call("eth_getTransactionByHash", [cancelling["tx_hash"]])
        assert pooled["to"].lower() == pooled["from"].lower() == relayer.address
        assert (int(pooled["value"], 16), pooled["input"], int(pooled["nonce"], 16)) == (0, "0x", start)
        assert int(pooled["maxFeePerGas"], 16) * 1000 >= int(sent["max_fee_per_gas"]) * 1125
        assert int(pooled["maxPriorityFeePerGas"], 16) * 1000 >= int(sent["max_priority_fee_per_gas"]) * 1125
        assert await client.call("eth_getTransactionByHash", [sent["tx_hash"]]) is None  # replaced in the pool

        rpc(chain, "evm_mine")
        await relay_all(relayer, store)
        done = await store.get(request_id)
        assert await client.call("eth_getTransactionReceipt", [sent["tx_hash"]]) is None
    assert done["status"] == "cancelled"
    assert done["tx_hash"] == cancelling["cancel_tx_hash"]
    assert "self-transaction" in done["last_error"]
    assert [h["status"] for h in done["history"]][-2:] == ["cancel_sent", "cancelled"]
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 0  # no effect
    assert chain_nonce(chain, relayer.address, "latest") == start + 1  # the nonce is used, no gap


async def test_cancel_of_a_pending_request_is_immediate_and_a_mined_one_confirms(
    automine_off: str,  # noqa: F811 (fixture)
    manifest: Manifest,
    pool: asyncpg.Pool,
    db_url: str,
    relayer_key: str,
) -> None:
    chain, fan = automine_off, Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, stuck_seconds=3600, stuck_blocks=100)
        await relayer.prepare()
        mined_id = await store.enqueue("mint", "too-late", mint(fan, 4, new_ref()))
        assert await relayer.submit_one()
        rpc(chain, "evm_mine")  # mined before the cancellation is acted on
        pending_id = await store.enqueue("mint", "never-sent", mint(fan, 5, new_ref()))
        assert _cli_cancel(db_url, pending_id) == (0, {"id": pending_id, "cancel": "cancelled"})
        assert _cli_cancel(db_url, mined_id) == (0, {"id": mined_id, "cancel": "cancel_requested"})
        await relay_all(relayer, store)
        assert _cli_cancel(db_url, 999) == (1, {"id": 999, "cancel": "not_found"})
    assert (await store.get(pending_id))["status"] == "cancelled"
    assert (await store.get(pending_id))["tx_hash"] is None
    late = await store.get(mined_id)
    assert (late["status"], late["cancel_tx_hash"]) == ("confirmed", None)  # the original won the race
    assert balance_of(chain, manifest.contract("Coin").address, fan) == 4
