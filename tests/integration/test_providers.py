"""Right answers behind providers that lag or load-balance: a balancer in front of a live and a lagging node."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from eth_account import Account
from prometheus_client import REGISTRY

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import RetryableError
from indexer import completeness
from indexer.app import Indexer
from indexer.projections import Projections
from indexer.store import QUERIES
from indexer.verify import verify
from tests.integration.helpers import DEPLOYER, make_indexer, make_relayer, mint_directly, new_ref
from tests.integration.relayer.common import chain_nonce
from tests.rpc_balancer import Balancer

DEADLINE_S = 120.0


def _rejected() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "rpc_provider_rejected"
        for sample in metric.samples
        if sample.name == "rpc_provider_rejected_total"
    )


def _reorgs() -> float:
    return REGISTRY.get_sample_value("indexer_reorgs_total") or 0.0


def _head(url: str) -> int:
    return int(str(rpc(url, "eth_blockNumber")), 16)


@pytest.fixture
async def balancer(chain: str) -> AsyncIterator[Balancer]:
    proxy = await Balancer(chain).start()
    yield proxy
    await proxy.stop()


async def _step(indexer: Indexer) -> int:
    try:
        return await indexer.backfill() or await indexer.sync_once()
    except RetryableError:  # an answer rejected as incomplete: read again on the next pass (as `run` does)
        return 0


async def _checkpoint(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(block_number), -1) FROM indexer_checkpoints"))


@pytest.mark.parametrize("near_head", [64, 0], ids=["by-hash-near-head", "ranges"])
@pytest.mark.parametrize("mode", ["round_robin", "logs_on_lagging"])
async def test_the_indexer_behind_a_lagging_node_loses_no_event_and_never_rolls_back(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, balancer: Balancer, mode: str, near_head: int
) -> None:
    balancer.mode, balancer.lag = mode, 5
    rejected, reorgs = _rejected(), _reorgs()
    accounts = ["0x" + os.urandom(20).hex() for _ in range(16)]
    checkpoints: list[int] = []
    async with RpcClient([balancer.url]) as client:
        indexer = make_indexer(manifest, pool, client, max_block_range=4, near_head=near_head)
        await indexer.prepare()
        for amount, account in enumerate(accounts, start=1):
            mint_directly(chain, manifest, account, amount)
            for _ in range(3):
                await _step(indexer)
                checkpoints.append(await _checkpoint(pool))
        balancer.catch_up()  # the lagging node gets the last blocks: the indexer must reach the head
        deadline = time.monotonic() + DEADLINE_S
        while await _checkpoint(pool) < _head(chain):
            assert time.monotonic() < deadline, "the indexer never reached the head"
            if not await _step(indexer):
                await asyncio.sleep(0.05)
            checkpoints.append(await _checkpoint(pool))
    assert balancer.served["lagging"] > 0 and _rejected() > rejected, "no lagging answer was seen: proves nothing"
    assert _reorgs() == reorgs, "rolled back without a proven reorg"
    assert checkpoints == sorted(checkpoints), "the indexed block moved backwards"
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == len(accounts)
    async with RpcClient([chain]) as direct:
        logs = await direct.call(
            "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": manifest.addresses}]
        )
        assert await pool.fetchval("SELECT count(*) FROM chain_events") == len(logs)
        report = await verify(pool, direct, manifest, Projections.from_manifest(manifest, QUERIES))
    assert report.ok, report


async def test_the_relayer_behind_a_lagging_node_sends_every_request_exactly_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str, balancer: Balancer
) -> None:
    balancer.lag = 2
    address = Account.from_key(relayer_key).address
    nonce_before = chain_nonce(chain, address, "latest")
    start_block = _head(chain)
    async with RpcClient([balancer.url]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        for i in range(10):
            fan = Account.create().address
            await store.enqueue("mint", f"lag:{i}", {"to": fan, "amount": i + 1, "payment_ref": new_ref()})
        deadline = time.monotonic() + DEADLINE_S
        while (counts := await store.status_counts()).get("confirmed", 0) < 10:
            assert time.monotonic() < deadline, f"requests never all confirmed: {counts}"
            assert not counts.get("failed") and not counts.get("dead"), counts
            with contextlib.suppress(RetryableError):
                await relayer.tick()
            rpc(chain, "evm_mine")  # the chain moves on; the lagging node follows 2 blocks behind
        # Now the lagging node is frozen below every request's block: its missing receipts prove nothing.
        balancer.frozen_at = start_block
        for _ in range(20):
            rpc(chain, "evm_mine")
            with contextlib.suppress(RetryableError):
                await relayer.tick()
    assert balancer.served["lagging"] > 0
    assert await store.status_counts() == {"confirmed": 10}
    assert chain_nonce(chain, address, "latest") - nonce_before == 10, "a duplicate or extra transaction was sent"
    rows = await pool.fetch("SELECT tx_hash, nonce, history::text AS history FROM tx_requests")
    assert len({r["nonce"] for r in rows}) == 10
    for row in rows:
        tx = rpc(chain, "eth_getTransactionByHash", [row["tx_hash"]])
        receipt = rpc(chain, "eth_getTransactionReceipt", [row["tx_hash"]])
        assert isinstance(tx, dict) and isinstance(receipt, dict) and receipt["status"] == "0x1"
        assert int(tx["nonce"], 16) == row["nonce"], "the request does not record the mined nonce"
        assert "reorged out" not in row["history"] and "taken" not in row["history"], row["history"]


async def test_reads_go_to_a_provider_at_the_height_they_need_and_each_provider_is_measured(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, balancer: Balancer
) -> None:
    balancer.mode, balancer.frozen_at = "lagging", _head(chain)  # RPC_URLS' first provider is frozen here
    accounts = ["0x" + os.urandom(20).hex() for _ in range(6)]
    for amount, account in enumerate(accounts, start=1):
        mint_directly(chain, manifest, account, amount)
    async with RpcClient([balancer.url, chain]) as client:
        indexer = make_indexer(manifest, pool, client, max_block_range=4)
        await indexer.prepare()
        deadline = time.monotonic() + DEADLINE_S
        while await _checkpoint(pool) < _head(chain):
            assert time.monotonic() < deadline, "the indexer never reached the head past the frozen provider"
            if not await _step(indexer):
                await asyncio.sleep(0.05)
        labels = [p.label for p in client.providers.all]
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == len(accounts)
    frozen, live = (REGISTRY.get_sample_value("rpc_provider_head_block", {"provider": label}) for label in labels)
    assert frozen == balancer.frozen_at and live == _head(chain)
    assert REGISTRY.get_sample_value("rpc_provider_lag_blocks", {"provider": labels[0]}) == live - frozen


class _Swapping(Balancer):
    """A node that answers one height with the header of the block after it (a balancer mixing nodes, or a
    hostile provider); everything else as the chain has it."""

    def __init__(self, upstream: str, swapped: int) -> None:
        super().__init__(upstream, mode="lagging")
        self.swapped = swapped

    async def _lagging(self, item: dict[str, Any], height: int) -> dict[str, Any]:
        if item.get("method") == "eth_getBlockByNumber" and int(item["params"][0], 16) == self.swapped:
            item = {**item, "params": [hex(self.swapped + 1), *item["params"][1:]]}
        return await super()._lagging(item, height)


async def test_a_header_of_another_height_rejects_the_answer_in_either_read(chain: str) -> None:
    """The headers that prove a range complete are checked to be the blocks asked for: in the logs' own
    request of a dense range (``every_header``) and in a batch of headers alike."""
    rpc(chain, "anvil_mine", ["0x6"])
    head = _head(chain)
    node = await _Swapping(chain, head - 2).start()
    try:
        async with RpcClient([node.url]) as client:
            before = _rejected()
            with pytest.raises(completeness.IncompleteAnswer):
                await completeness.read_range(client, head - 4, head, [DEPLOYER], near=0, every_header=True)
            with pytest.raises(completeness.IncompleteAnswer):
                await completeness.headers(client, [head - 3, head - 2])
            assert _rejected() == before + 2
            read = await completeness.read_range(client, head - 1, head, [DEPLOYER], near=0, every_header=True)
            assert set(read.blocks) == {head - 1, head}  # an honest stretch of the same node passes
    finally:
        await node.stop()
