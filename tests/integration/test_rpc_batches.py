"""JSON-RPC batches a provider refuses are split and retried; blooms flag logs a range answer lacked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from anvil.node import free_port, rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer import completeness
from tests.integration.helpers import mint_directly

LIMIT = 3


@pytest.fixture(params=["error", "http-413"])
async def small_batches(chain: str, request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, list[int]]]:
    """A proxy to anvil that refuses batches of more than LIMIT calls, as an error object or with HTTP 413."""
    refused: list[int] = []

    async def handle(incoming: web.Request) -> web.Response:
        body = await incoming.json()
        if isinstance(body, list) and len(body) > LIMIT:
            refused.append(len(body))
            if request.param == "http-413":
                return web.Response(status=413, text="request entity too large")
            error = {"code": -32600, "message": f"batch size {len(body)} exceeds the limit of {LIMIT}"}
            return web.json_response({"jsonrpc": "2.0", "id": None, "error": error})
        async with aiohttp.ClientSession() as session, session.post(chain, json=body) as upstream:
            return web.json_response(await upstream.json())

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/", refused
    await runner.cleanup()


async def test_a_refused_batch_is_split_and_the_smaller_size_kept(small_batches: tuple[str, list[int]]) -> None:
    url, refused = small_batches
    async with RpcClient([url], batch_size=10) as client:
        blocks = await client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(10)])
        assert [int(b["number"], 16) for b in blocks] == list(range(10))
        assert refused and client.batch_size <= LIMIT
        seen = len(refused)
        again = await client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(7)])
    assert len(again) == 7
    assert len(refused) == seen, "a batch larger than the learned size was sent again"


async def test_the_batch_size_is_a_setting(chain: str) -> None:
    from indexer.settings import IndexerSettings  # noqa: PLC0415

    assert IndexerSettings(rpc_batch_size=25).rpc_batch_size == 25
    async with RpcClient([chain], batch_size=2) as client:
        assert len(await client.batch([("eth_chainId", [])] * 5)) == 5


async def test_a_bloom_that_says_maybe_without_a_log_rejects_the_answer(chain: str, manifest: Manifest) -> None:
    mint_directly(chain, manifest, "0x" + "12" * 20, 3)
    head = int(str(rpc(chain, "eth_blockNumber")), 16)
    async with RpcClient([chain]) as client:
        block = (await completeness.headers(client, [head]))[head]
        read = completeness.RangeRead([], {head: block}, client.providers.pick())
        flagged = completeness.suspects(read, [], manifest.addresses)
        assert flagged == [block], "the bloom of a block with our log did not say maybe"
        with pytest.raises(completeness.IncompleteAnswer, match="lacked"):
            await completeness.confirm_empty(client, read, flagged, manifest.addresses)
        logs = await client.call("eth_getLogs", [{"blockHash": block["hash"], "address": manifest.addresses}])
        assert logs and completeness.suspects(read, logs, manifest.addresses) == []
        other = ["0x" + "00" * 19 + "01"]
        assert completeness.suspects(read, [], other) == []  # another address: no suspicion
