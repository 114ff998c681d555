"""Outages are weather, not death: a REAL PostgreSQL restart and a REAL Redis restart (private instances,
never the shared services) under load — the relayer sending, the indexer following, an SSE client
connected. Every process stays up; every request is confirmed exactly once; the raw events are the
chain's logs; the SSE client sees every mint or a ``resync``; ``/ready`` and the metrics tell the truth."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.db import DatabaseUnavailable, create_pool
from relayer.store import RelayerStore
from tests.e2e.outage_stack import SseClient, Stack, private_stores, stack_env, wait_for
from tests.integration.helpers import new_ref

DB_UP = 'dependency_up{dependency="database"}'
MINTED = "0x" + keccak(text="Minted(address,uint256,bytes32)").hex()


@pytest.fixture
def outage_stack(
    chain: str, manifest_path: Path, relayer_key: str, tmp_path: Path
) -> Iterator[tuple[Stack, object, object, str]]:
    pg, redis, database_url = private_stores(tmp_path)
    logs = {name: tmp_path / f"{name}.log" for name in ("indexer", "relayer", "api")}
    stack = Stack(stack_env(database_url, redis.url, chain, manifest_path, relayer_key), logs)
    try:
        stack.start()
        yield stack, pg, redis, database_url
    finally:
        codes = stack.stop()
        redis.stop()
        pg.stop()
    for name, code in codes.items():
        assert code == 0, f"{name} exited {code}:\n{logs[name].read_text()[-3000:]}"
    assert "unhandled error" not in logs["api"].read_text(), "the API answered a 500"


async def _load(database_url: str, refs: list[str], stop: asyncio.Event) -> None:
    """Queue a mint every 50 ms; during an outage the same ref is retried (idempotent) until it is stored."""
    pool = await create_pool(database_url, max_size=2)
    store = RelayerStore(pool)
    to = Account.create().address
    try:
        while not stop.is_set():
            ref = new_ref()
            while True:
                try:
                    await store.enqueue("mint", f"mint:{ref}", {"to": to, "amount": "7", "payment_ref": ref})
                    break
                except DatabaseUnavailable:
                    await asyncio.sleep(0.2)
            refs.append(ref)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        pool.terminate()


async def _confirmed(database_url: str) -> dict[str, str]:
    pool = await create_pool(database_url, max_size=1)
    try:
        rows = await pool.fetch("SELECT payload->>'payment_ref' AS ref, status, tx_hash FROM tx_requests")
    finally:
        await pool.close()
    return {r["ref"]: r["tx_hash"] for r in rows if r["status"] == "confirmed"}


def _count_confirmed(database_url: str) -> int:
    try:
        return len(asyncio.run(_confirmed(database_url)))
    except DatabaseUnavailable:
        return 0


def _down(stack: Stack, dependency: str) -> tuple[int, dict[str, Any]] | None:
    status, body = stack.status("/ready")
    if status == 503 and not body["error"]["details"]["checks"][dependency]["ok"]:
        return status, body
    return None


def _indexed(stack: Stack) -> int:
    data = stack.status("/api/balances/" + Account.create().address)[1].get("data") or {}
    return int((data.get("indexed_block") or {}).get("number", -1))


async def test_postgres_and_redis_restarts_under_load(
    outage_stack: tuple[Stack, object, object, str], chain: str, manifest: Manifest
) -> None:
    stack, pg, redis, database_url = outage_stack
    sse = SseClient(stack.api + "/api/feed/sse")
    sse.start()
    assert sse.connected.wait(30)
    refs: list[str] = []
    stop_load = asyncio.Event()
    load = asyncio.create_task(_load(database_url, refs, stop_load))
    run = asyncio.to_thread

    await run(wait_for, lambda: _count_confirmed(database_url) >= 5, "the first mints to be confirmed")

    # PostgreSQL down: /ready says so, the indexer's gauge says so, and nobody exits.
    pg.stop()  # type: ignore[attr-defined]
    down_since = time.monotonic()
    ready = await run(wait_for, lambda: _down(stack, "database"), "/ready to report the database down")
    assert ready[1]["error"]["details"]["checks"]["redis"]["ok"] is True
    await run(
        wait_for, lambda: stack.metric("indexer", 'dependency_up{dependency="database"}') == 0, "the indexer gauge"
    )
    await run(
        wait_for, lambda: stack.metric("relayer", 'dependency_up{dependency="database"}') == 0, "the relayer gauge"
    )
    await asyncio.sleep(max(0.0, 3 - (time.monotonic() - down_since)))  # hold the outage a little (not a proof)
    assert not stack.dead(), f"exited during the Postgres outage: {stack.dead()}"
    pg.start()  # type: ignore[attr-defined]
    before = len(refs)
    await run(wait_for, lambda: stack.status("/ready")[0] == 200, "/ready after the Postgres restart")
    await run(wait_for, lambda: _count_confirmed(database_url) >= before + 5, "mints confirmed after the restart", 90)
    await run(wait_for, lambda: stack.metric("indexer", DB_UP) == 1, "gauge back")

    # Redis down: 503 (never 500) where Redis is needed, public reads still served, mints still flow.
    redis.stop(kill=True)  # type: ignore[attr-defined]
    nonce = await run(wait_for, lambda: (s := stack.status("/api/auth/siwe/nonce"))[0] != 200 and s, "nonce refused")
    assert nonce[0] == 503 and nonce[1]["success"] is False and nonce[1]["error"]["code"] == "unavailable"
    ready = await run(wait_for, lambda: _down(stack, "redis"), "/ready to report Redis down")
    assert ready[1]["error"]["details"]["checks"]["database"]["ok"] is True
    balance = stack.status(f"/api/balances/{Account.create().address}")
    assert balance[0] == 200, balance
    during = len(await _confirmed(database_url))
    await run(wait_for, lambda: _count_confirmed(database_url) >= during + 5, "mints confirmed while Redis is down")
    assert not stack.dead(), f"exited during the Redis outage: {stack.dead()}"
    redis.start()  # type: ignore[attr-defined]
    await run(wait_for, lambda: stack.status("/ready")[0] == 200, "/ready after the Redis restart")
    assert stack.status("/api/auth/siwe/nonce")[0] == 200

    after = len(await _confirmed(database_url))
    await run(wait_for, lambda: _count_confirmed(database_url) >= after + 3, "a few mints after Redis", 90)
    stop_load.set()
    await load
    confirmed = await run(
        wait_for,
        lambda: len(c := asyncio.run(_confirmed(database_url))) == len(refs) and c,
        "every mint confirmed",
        120,
    )
    assert set(confirmed) == set(refs)
    assert not stack.dead(), f"exited: {stack.dead()}"

    # Exactly once on chain, and the raw events are the chain's logs (nothing lost or doubled).
    logs = rpc(chain, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": manifest.addresses}])
    assert isinstance(logs, list)
    minted: dict[str, int] = {}
    for log in logs:
        if log["topics"][0] == MINTED:
            minted[log["topics"][2].lower()] = minted.get(log["topics"][2].lower(), 0) + 1
    assert {ref: minted.get(ref.lower(), 0) for ref in refs} == {ref: 1 for ref in refs}
    head = max(int(log["blockNumber"], 16) for log in logs)
    await run(wait_for, lambda: _indexed(stack) >= head, "the indexer to reach the last mint")
    pool = await create_pool(database_url, max_size=1)
    try:
        rows = await pool.fetch("SELECT block_hash, log_index FROM chain_events WHERE block_number <= $1", head)
        tokens = await pool.fetch("SELECT payment_ref, count(*) AS n FROM token_mints GROUP BY payment_ref")
    finally:
        await pool.close()
    assert {(r["block_hash"], r["log_index"]) for r in rows} == {
        (log["blockHash"].lower(), int(log["logIndex"], 16)) for log in logs
    }
    assert all(r["n"] == 1 for r in tokens)

    # The SSE client saw every mint's transfer, or was told to resync (never a silent gap).
    wanted = {tx.lower() for tx in confirmed.values()}
    await run(wait_for, lambda: wanted <= {e["tx_hash"] for e in sse.seen("transfer")} or sse.seen("resync"), "SSE")
    sse.close()
    assert sse.error is None, sse.error
    missing = wanted - {e["tx_hash"] for e in sse.seen("transfer")}
    assert not missing or sse.seen("resync"), f"{len(missing)} mints never reached the SSE client, and no resync"
