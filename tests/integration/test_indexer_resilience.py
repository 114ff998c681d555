"""The indexer survives a node that rejects wide log ranges, and SIGKILL at any moment."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from anvil.node import free_port, rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.settings import ROOT
from relayer.calls import encode_call
from tests.integration.helpers import DEPLOYER, make_indexer, mint_directly, sync

MAX_SPAN = 3


@pytest.fixture
async def narrow_proxy(chain: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A JSON-RPC proxy to anvil that refuses eth_getLogs over more than MAX_SPAN blocks."""
    rejected: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        items = body if isinstance(body, list) else [body]
        for item in items:
            if item.get("method") == "eth_getLogs" and "toBlock" in item["params"][0]:
                span = int(item["params"][0]["toBlock"], 16) - int(item["params"][0]["fromBlock"], 16) + 1
                if span > MAX_SPAN:
                    rejected.append(span)
                    error = {"code": -32005, "message": f"query exceeds max block range {MAX_SPAN}"}
                    return web.json_response({"jsonrpc": "2.0", "id": item["id"], "error": error})
        async with aiohttp.ClientSession() as session, session.post(chain, json=body) as upstream:
            return web.json_response(await upstream.json())

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/", rejected
    await runner.cleanup()


async def test_range_limit_errors_shrink_the_range(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, narrow_proxy: tuple[str, list[int]]
) -> None:
    proxy, rejected = narrow_proxy
    accounts = ["0x" + os.urandom(20).hex() for _ in range(12)]
    for account in accounts:
        mint_directly(chain, manifest, account, 5)
        rpc(chain, "anvil_mine", ["0x2"])
    async with RpcClient([proxy]) as client:
        await sync(make_indexer(manifest, pool, client, max_block_range=2000, near_head=0))
    assert rejected, "the proxy never rejected a range: the test proves nothing"
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == len(accounts)
    head = int(str(rpc(chain, "eth_blockNumber")), 16)
    assert await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head


async def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    chain: str, manifest: Manifest, manifest_path: Path, db_url: str, pool: asyncpg.Pool
) -> None:
    accounts = ["0x" + os.urandom(20).hex() for _ in range(60)]
    for account in accounts:
        mint_directly(chain, manifest, account, 7)
    env = {**os.environ, "DATABASE_URL": db_url, "RPC_URLS": chain, "MANIFEST_PATH": str(manifest_path),
           "INDEXER_METRICS_PORT": "0", "INDEXER_MAX_BLOCK_RANGE": "2", "INDEXER_POLL_INTERVAL": "0.05"}  # fmt: skip
    rng = random.Random(7)
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-m", "indexer", "run"], env=env, cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        await asyncio.sleep(rng.uniform(0.6, 1.6))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        mint_directly(chain, manifest, "0x" + os.urandom(20).hex(), 1)  # the chain moves on meanwhile
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))
        logs = await client.call(
            "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": manifest.addresses}]
        )
    assert await pool.fetchval("SELECT count(*) FROM chain_events") == len(logs)
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == len(accounts) + 6
    sums = await pool.fetchval("SELECT sum(balance) FROM token_balances")
    assert sums == 7 * len(accounts) + 6
    assert json.dumps(sorted(accounts)) == json.dumps(
        sorted(r["account"] for r in await pool.fetch("SELECT account FROM token_balances WHERE balance = 7"))
    )


@pytest.mark.parametrize("depth", [1, 2, 5, 10])
async def test_reorgs_that_change_drop_and_add_events_leave_no_mismatch(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, depth: int
) -> None:
    from indexer.verify import verify  # noqa: PLC0415

    for _ in range(12):
        mint_directly(chain, manifest, "0x" + os.urandom(20).hex(), 3)
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        # The new branch: fewer blocks' worth of different mints, some blocks empty.
        replacements = []
        for offset in range(0, depth, 2):
            call = encode_call(manifest, "Coin", "mint", ["0x" + os.urandom(20).hex(), 11, os.urandom(32)])
            replacements.append([{"from": DEPLOYER, "to": call.to, "data": call.data}, offset])
        rpc(chain, "anvil_reorg", [depth, replacements])
        await sync(indexer)
        report = await verify(pool, client, manifest, indexer.store.projections)
        assert report.ok, report.mismatches
        logs = await client.call(
            "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": manifest.addresses}]
        )
        assert await pool.fetchval("SELECT count(*) FROM chain_events") == len(logs)
        assert await pool.fetchval("SELECT count(*) FROM token_mints WHERE amount = 11") == len(replacements)
        live = [tuple(r) for r in await pool.fetch("SELECT * FROM token_balances ORDER BY token, account")]
        async with pool.acquire() as conn, conn.transaction():
            await indexer.store.projections.rebuild(conn, manifest.chain_id)
        assert [tuple(r) for r in await pool.fetch("SELECT * FROM token_balances ORDER BY token, account")] == live


async def test_a_fetch_failure_during_backfill_stops_the_pipeline_instead_of_hanging(
    chain: str, manifest: Manifest, pool: asyncpg.Pool
) -> None:
    """Found by the chaos run: a reorg under the backfill's fetcher ("a block vanished while fetching
    headers", or eth_getLogs past a head that got lower) killed the fetcher task while the writer
    waited on its queue forever (the indexer hung, alive but indexing nothing). The pipeline must
    stop (block-by-block handling takes over, as on a reorg) and the next passes catch up."""
    vanished: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        async with aiohttp.ClientSession() as session, session.post(chain, json=body) as upstream:
            answer = await upstream.json()
        if isinstance(body, list) and body[0].get("method") == "eth_getBlockByNumber" and not vanished:
            vanished.append(len(answer))
            answer[-1]["result"] = None  # the block is gone (a reorg shortened the chain meanwhile)
        return web.json_response(answer)

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        for _ in range(3):
            mint_directly(chain, manifest, "0x" + os.urandom(20).hex(), 5)
        async with RpcClient([f"http://127.0.0.1:{port}/"]) as client:
            indexer = make_indexer(manifest, pool, client)
            await indexer.prepare()
            backfill = asyncio.create_task(indexer.backfill())
            done, _ = await asyncio.wait({backfill}, timeout=15)
            if not done:
                backfill.cancel()
            assert done, "the backfill hung after its fetcher failed"
            assert backfill.result() == 0  # nothing written: the first range's headers failed
            assert vanished
            await sync(indexer)
    finally:
        await runner.cleanup()
    head = int(str(rpc(chain, "eth_blockNumber")), 16)
    assert await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head
    assert await pool.fetchval("SELECT count(*) FROM token_mints") == 3
