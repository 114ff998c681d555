"""The live feed from a real API process: indexer NOTIFY -> Redis stream -> SSE / WebSocket clients,
including a reorg retraction, and resuming from a cursor after a disconnect."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import asyncpg
import httpx
import websockets
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from tests.integration.api.chain import index, mint


async def _read_sse(url: str, events: list[dict[str, Any]], headers: dict[str, str] | None = None) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=60.0)) as client,
        client.stream("GET", url, headers=headers or {}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                events.append(current)
                current = {}


async def _until(events: list[dict[str, Any]], predicate: Any, within: float = 10.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        for event in events:
            if predicate(event["data"]):
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"no such event in {[e['data'] for e in events]}")


async def test_a_reorg_retraction_reaches_an_sse_client_which_can_resume(
    api_server: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    kept, dropped = Account.create().address.lower(), Account.create().address.lower()
    events: list[dict[str, Any]] = []
    reader = asyncio.create_task(_read_sse(f"{api_server}/api/feed/sse", events))
    try:
        await asyncio.sleep(0.5)
        await mint(manifest, pool, chain, relayer_key, [(kept, 10)])
        rpc(chain, "anvil_mine", ["0x3"])
        await mint(manifest, pool, chain, relayer_key, [(dropped, 20)])
        await index(manifest, pool, chain)
        tip = int(str(rpc(chain, "eth_blockNumber")), 16)

        transfer = await _until(events, lambda e: e["type"] == "transfer" and e["to"] == dropped)
        balance = await _until(events, lambda e: e["type"] == "balance" and e["account"] == dropped)
        assert transfer["data"]["amount"] == "20" and balance["data"]["balance"] == "20"
        await _until(events, lambda e: e["type"] == "block" and e["block"] == tip)

        rpc(chain, "anvil_reorg", [2, []])  # the second mint's block is replaced by an empty one
        await index(manifest, pool, chain)
        reorg = await _until(events, lambda e: e["type"] == "reorg")
        assert reorg["data"]["block"] < transfer["data"]["block"]
        assert (
            reorg["data"]["block"]
            >= (await _until(events, lambda e: e["type"] == "transfer" and e["to"] == kept))["data"]["block"]
        )
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader

    # A client that saw only up to the first transfer resumes from its id and misses nothing.
    first = events[0]
    resumed: list[dict[str, Any]] = []
    reader = asyncio.create_task(_read_sse(f"{api_server}/api/feed/sse", resumed, {"Last-Event-ID": first["id"]}))
    try:
        await _until(resumed, lambda e: e["type"] == "reorg")
        later = [e["id"] for e in events[1:]]
        assert [e["id"] for e in resumed][: len(later)] == later
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader

    # The same stream over a WebSocket, filtered to one account (reorgs always pass).
    ws_url = api_server.replace("http://", "ws://") + f"/api/feed/ws?cursor={first['id']}&account={kept}"
    async with websockets.connect(ws_url) as socket:
        kinds = []
        while "reorg" not in kinds:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            kinds.append(message["event"])
            data = message["data"]
            if message["event"] in {"transfer", "balance"}:
                assert kept in (data.get("account"), data.get("from"), data.get("to"))


async def test_an_invalid_cursor_is_a_400(api_server: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{api_server}/api/feed/sse?cursor=nope")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"
