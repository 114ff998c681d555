"""A contract added to the configuration with history (README "Upgrading projections"): its tables are
built beside from the node's history and swapped in with their registration, while the indexer follows
the head for the other contracts and a client polls ``GET /api/events/probe/Transfer``: every read
answers 404 (not registered yet) or the whole history, never a half-filled table."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.custom_chain import custom_indexer, deploy, send, write_config
from tests.integration.helpers import DEPLOYER, make_indexer, mint_directly, sync

BURSTS, PER_BURST, GAP = 6, 500, 400  # 3,000 Transfers over ~2,400 blocks


def _history(chain: str, probe: str) -> int:
    receiver = Account.create().address
    for i in range(BURSTS):
        send(chain, probe, "transfers(address,uint256,uint256)", ["address", "uint256", "uint256"],
             [receiver, 1 + i * PER_BURST, PER_BURST])  # fmt: skip
        rpc(chain, "anvil_mine", [hex(GAP)], timeout=60)
    return BURSTS * PER_BURST


def _chain_transfers(chain: str, probe: str, topic0: str) -> int:
    logs: Any = rpc(chain, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": [probe],
                                           "topics": [topic0]}])  # fmt: skip
    return len(logs)


async def _count(client: httpx.AsyncClient) -> int | None:
    """The rows of probe's Transfer table, paged through (None: 404). Newest first: the values count down."""
    n, cursor, last = 0, None, None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/events/probe/Transfer", params=params)
        if answer.status_code == 404 and n == 0:
            assert answer.json()["error"]["code"] == "not_found"
            return None
        assert answer.status_code == 200, answer.text
        body = answer.json()["data"]
        for item in body["items"]:
            value = int(item["args"]["value"])
            assert last is None or value == last - 1, (value, last)
            last = value
        n += len(body["items"])
        if (cursor := body["next_cursor"]) is None:
            return n


async def test_a_contract_added_with_history_is_served_whole_or_not_at_all(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, api_server: str, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    total = _history(chain, probe)
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    counts: list[int | None] = []
    mid_fetch = []  # (done, checkpoint) seen with a 404 while the history was half fetched
    stop, reading = asyncio.Event(), asyncio.Event()
    async with RpcClient([chain]) as client, httpx.AsyncClient(base_url=api_server, timeout=30) as http:
        await sync(make_indexer(manifest, pool, client))  # no configuration yet: the checkpoint moves past it
        start_checkpoint = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")

        async def read_loop() -> None:
            while not stop.is_set():
                n = await _count(http)
                counts.append(n)
                reading.set()
                if n is None:
                    row = await pool.fetchrow("SELECT done FROM custom_history_progress WHERE contract = 'probe'")
                    checkpoint = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")
                    if row is not None and block <= row["done"] < start_checkpoint:
                        mid_fetch.append((row["done"], checkpoint))

        async def traffic() -> None:  # the other contracts: Coin mints, followed meanwhile
            while not stop.is_set():
                await asyncio.to_thread(mint_directly, chain, manifest, DEPLOYER, 1)
                await asyncio.sleep(0.05)

        reader, minter = asyncio.create_task(read_loop()), asyncio.create_task(traffic())
        await reading.wait()
        # Small ranges: the history takes ~120 eth_getLogs, the reads see it half fetched.
        indexer = custom_indexer(manifest, pool, client, config, max_block_range=20)
        running = asyncio.create_task(indexer.run(asyncio.Event(), poll_interval=0.05))
        try:
            for _ in range(1200):
                custom = indexer.store.custom
                if custom is not None and counts and counts[-1] is not None and not custom.pending:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"never swapped in: last reads {counts[-5:]}")
            for _ in range(3):  # a few whole reads after the swap
                reading.clear()
                await reading.wait()
            stop.set()
            await asyncio.gather(reader, minter)
            # After the swap the running indexer writes the new contract's table itself.
            await asyncio.to_thread(send, chain, probe, "transfers(address,uint256,uint256)",
                                    ["address", "uint256", "uint256"], [DEPLOYER, total + 1, 1])  # fmt: skip
            for _ in range(300):
                if await _count(http) == total + 1:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the transfer after the swap was never served")
        finally:
            stop.set()
            await asyncio.gather(reader, minter)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    assert set(counts) <= {None, total}, sorted({n for n in counts if n is not None})
    assert counts[0] is None and counts[-1] == total
    assert mid_fetch, "no read happened while the history was half fetched"
    assert max(cp for _, cp in mid_fetch) > start_checkpoint  # the head was followed meanwhile
    topic0 = await pool.fetchval("SELECT topic0 FROM custom_event_tables WHERE table_name = 'probe__transfer'")
    assert await pool.fetchval('SELECT count(*) FROM custom_events."probe__transfer"') == total + 1
    assert _chain_transfers(chain, probe, topic0) == total + 1
    assert await pool.fetchval("SELECT count(*) FROM custom_event_tables WHERE contract = 'probe'") == 2
