"""Exhausted retries end in `dead` with the reason; the metrics show queue depth, failures and latency."""

from __future__ import annotations

import asyncpg
from eth_account import Account
from prometheus_client import REGISTRY

from anvil.node import free_port
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.helpers import new_ref, relay_all
from tests.integration.relayer.common import mint, relayer_for


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_exhausted_retries_end_dead_with_the_reason(
    manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    dead_before = _sample("relayer_failures_total", {"kind": "mint", "stage": "retries"})
    # A node that never answers: every pre-flight fails with a retryable error.
    async with RpcClient([f"http://127.0.0.1:{free_port()}"], retries=0, timeout=2) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key, max_attempts=2)
        request_id = await store.enqueue("mint", "doomed", mint(Account.create().address, 1, new_ref()))
        assert await relayer.submit_one()
        retried = await store.get(request_id)
        assert retried["status"] == "pending"
        assert retried["attempts"] == 1
        assert "unreachable" in retried["last_error"]
        await pool.execute("UPDATE tx_requests SET not_before = now() WHERE id = $1", request_id)  # skip the backoff
        assert await relayer.submit_one()
        await relayer.refresh_metrics()
    dead = await store.get(request_id)
    assert dead["status"] == "dead"
    assert dead["last_error"].startswith("gave up after 2 attempts")
    assert dead["tx_hash"] is None
    assert [h["status"] for h in dead["history"]] == ["pending", "pending", "dead"]
    assert _sample("relayer_failures_total", {"kind": "mint", "stage": "retries"}) == dead_before + 1
    assert _sample("relayer_requests", {"kind": "mint", "status": "dead"}) == 1
    assert _sample("relayer_requests", {"kind": "mint", "status": "pending"}) == 0
    assert await store.retry(request_id)  # the CLI's `requests retry` puts it back
    assert (await store.get(request_id))["status"] == "pending"


async def test_confirmation_latency_and_queue_depth_are_measured(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    count_before = _sample("relayer_confirm_seconds_count", {"kind": "mint"})
    async with RpcClient([chain]) as client:
        relayer, store = relayer_for(manifest, pool, client, relayer_key)
        await relayer.prepare()
        for i in range(3):
            await store.enqueue("mint", f"m{i}", mint(Account.create().address, 1, new_ref()))
        await relay_all(relayer, store)
        await relayer.refresh_metrics()  # tick refreshes the gauges at most once a second: the last pass may be newer
    assert _sample("relayer_confirm_seconds_count", {"kind": "mint"}) == count_before + 3
    assert _sample("relayer_requests", {"kind": "mint", "status": "confirmed"}) == 3
    assert _sample("relayer_requests", {"kind": "settle", "status": "pending"}) == 0
