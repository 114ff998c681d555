"""The peers benchmark's provider-like proxy (bench/peers/proxy.py) does what it claims: it caps eth_getLogs the way
Infura words it (our client reads that as "ask for less"), answers 429 over its request rate, and passes the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from anvil.node import free_port
from bench.peers.proxy import Proxy
from core.chain.rpc import RpcClient
from core.errors import RequestTooLarge

BLOCKS = 30  # the fake node: one log per block, blocks 1..30


def _log(block: int) -> dict[str, Any]:
    digest = "0x" + f"{block:064x}"
    return {"blockNumber": hex(block), "logIndex": "0x0", "address": "0x" + "11" * 20, "topics": [], "data": "0x",
            "transactionHash": digest, "blockHash": digest, "removed": False}  # fmt: skip


@pytest.fixture
async def node() -> AsyncIterator[str]:
    """A node that speaks just enough JSON-RPC (batches included) for the proxy's rules."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        answers = []
        for item in body if isinstance(body, list) else [body]:
            if item["method"] == "eth_getLogs":
                query = item["params"][0]
                first, last = int(query["fromBlock"], 16), int(query["toBlock"], 16)
                result: Any = [_log(n) for n in range(max(1, first), min(BLOCKS, last) + 1)]
            else:
                result = hex(BLOCKS)
            answers.append({"jsonrpc": "2.0", "id": item["id"], "result": result})
        return web.json_response(answers if isinstance(body, list) else answers[0])

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_a_wide_getlogs_gets_infuras_error_with_a_range_that_fits(node: str) -> None:
    proxy = await Proxy(node, latency=0, rate=None, max_logs=10).start()
    try:
        async with RpcClient([proxy.url]) as client:
            with pytest.raises(RequestTooLarge, match=r"more than 10 results.*\[0x5, 0xe\]"):
                await client.call("eth_getLogs", [{"fromBlock": hex(5), "toBlock": hex(BLOCKS)}])
            fits = await client.call("eth_getLogs", [{"fromBlock": hex(5), "toBlock": hex(14)}])
        assert [int(log["blockNumber"], 16) for log in fits] == list(range(5, 15))
        assert proxy.counts["capped"] == 1
    finally:
        await proxy.stop()


async def test_requests_over_the_rate_are_answered_429_and_never_forwarded(node: str) -> None:
    proxy = await Proxy(node, latency=0, rate=3, max_logs=None).start()
    body = [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []} for i in range(4)]
    try:
        statuses = []
        async with aiohttp.ClientSession() as session:
            for _ in range(8):
                async with session.post(proxy.url, json=body) as response:
                    answers = await response.json()
                    statuses.append(response.status)
                    if response.status == 429:
                        assert [a["error"]["code"] for a in answers] == [429] * 4
                    else:
                        assert [a["result"] for a in answers] == [hex(BLOCKS)] * 4
        # A burst of 3 (a batch counts once); 8 back-to-back requests cannot refill 5 more tokens.
        assert statuses[:3] == [200, 200, 200]
        assert 429 in statuses
        assert proxy.counts["limited"] == statuses.count(429)
        assert proxy.counts["calls"] == 32
    finally:
        await proxy.stop()
