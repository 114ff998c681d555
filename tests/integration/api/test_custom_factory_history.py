"""A factory added to the configuration with history, with its children (README "Upgrading projections"):
the children are found in the factory's history, their logs fetched by address, and their table built beside
with the factory's and swapped in with it, while the indexer follows the head and a client polls
``GET /api/events/child/Transfer``: every read answers 404 or the whole history, never a half-filled table.
A child created during the build is followed by the live path and its Transfer is served once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
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

CHILDREN, BURSTS, PER_BURST, GAP = 3, 2, 500, 1000  # 3,000 Transfers of 3 children over ~2,000 blocks
TRANSFERS = "transfers(address,uint256,uint256)"
CREATE_AND_TRANSFER = "create_and_transfer(address,uint256)"


# The traffic thread and the test both send from the unlocked DEPLOYER: anvil gives two concurrent
# eth_sendTransaction calls of one account the same nonce ("replacement transaction underpriced").
DEPLOYER_SENDS = threading.Lock()


def _serially(fn: Any, *args: Any) -> Any:
    with DEPLOYER_SENDS:
        return fn(*args)


def _create(chain: str, factory: str, value: int) -> str:
    """A new child of ``factory``, which logs one Transfer of ``value`` in the same transaction."""
    receipt = send(chain, factory, CREATE_AND_TRANSFER, ["address", "uint256"], [DEPLOYER, value])
    return "0x" + receipt["logs"][0]["topics"][1][-40:]


def _history(chain: str, factory: str) -> tuple[list[str], int]:
    """Children made by the factory, then bursts of Transfers from each: values 1..total in chain order."""
    children = [_create(chain, factory, 1 + i) for i in range(CHILDREN)]
    receiver, value = Account.create().address, CHILDREN + 1
    for _ in range(BURSTS):
        for child in children:
            send(chain, child, TRANSFERS, ["address", "uint256", "uint256"], [receiver, value, PER_BURST])
            value += PER_BURST
        rpc(chain, "anvil_mine", [hex(GAP)], timeout=60)
    return children, value - 1


def _chain_transfers(chain: str, children: list[str], topic0: str) -> list[tuple[int, int, str, int]]:
    logs: Any = rpc(chain, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": children,
                                           "topics": [topic0]}])  # fmt: skip
    return [(int(g["blockNumber"], 16), int(g["logIndex"], 16), g["address"].lower(), int(g["data"], 16)) for g in logs]


async def _values(client: httpx.AsyncClient) -> list[int] | None:
    """The values of the children's Transfer table, paged through, newest first (None: 404)."""
    values: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/events/child/Transfer", params=params)
        if answer.status_code == 404 and not values:
            assert answer.json()["error"]["code"] == "not_found"
            return None
        assert answer.status_code == 200, answer.text
        body = answer.json()["data"]
        values.extend(int(item["args"]["value"]) for item in body["items"])
        if (cursor := body["next_cursor"]) is None:
            return values


async def test_a_factory_added_with_history_serves_its_children_whole_or_not_at_all(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, api_server: str, tmp_path: Path
) -> None:
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    children, total = _history(chain, factory)
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    reads: list[int | None] = []  # per read: 404 (None) or the number of rows, each read checked whole
    mid_fetch = []  # (done, checkpoint) seen with a 404 while the history was half fetched
    stop, reading = asyncio.Event(), asyncio.Event()
    async with RpcClient([chain]) as client, httpx.AsyncClient(base_url=api_server, timeout=30) as http:
        await sync(make_indexer(manifest, pool, client))  # no configuration yet: the checkpoint moves past it
        start_checkpoint = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")

        async def read_loop() -> None:
            while not stop.is_set():
                values = await _values(http)
                if values is not None:  # whole: every value from the newest down to 1, once
                    assert values == list(range(len(values), 0, -1)), values[:5]
                    assert len(values) >= total, len(values)
                reads.append(None if values is None else len(values))
                reading.set()
                if values is None:
                    row = await pool.fetchrow("SELECT done FROM custom_history_progress WHERE contract = 'factory'")
                    checkpoint = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")
                    if row is not None and block <= row["done"] < start_checkpoint:
                        mid_fetch.append((row["done"], checkpoint))

        async def traffic() -> None:  # the other contracts: Coin mints, followed meanwhile
            while not stop.is_set():
                await asyncio.to_thread(_serially, mint_directly, chain, manifest, DEPLOYER, 1)
                await asyncio.sleep(0.05)

        reader, minter = asyncio.create_task(read_loop()), asyncio.create_task(traffic())
        await reading.wait()
        # Small ranges: the factory's history takes ~100 eth_getLogs, the reads see it half fetched.
        indexer = custom_indexer(manifest, pool, client, config, max_block_range=20)
        running = asyncio.create_task(indexer.run(asyncio.Event(), poll_interval=0.05))
        try:
            for _ in range(600):  # a child created while the history is fetched: the live path finds it
                if mid_fetch:
                    break
                await asyncio.sleep(0.05)
            late = await asyncio.to_thread(_serially, _create, chain, factory, total + 1)
            custom = indexer.store.custom
            assert custom is not None and custom.pending, "swapped before the late child was created"
            for _ in range(1200):
                if reads and reads[-1] is not None and not custom.pending:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"never swapped in: last reads {reads[-5:]}")
            for _ in range(300):  # the late child's Transfer served (by the build or the live path)
                if reads[-1] == total + 1:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the late child's transfer was never served: {reads[-5:]}")
            stop.set()
            await asyncio.gather(reader, minter)
            # After the swap the running indexer writes the children's table itself (a history child).
            await asyncio.to_thread(send, chain, children[0], TRANSFERS, ["address", "uint256", "uint256"],
                                    [DEPLOYER, total + 2, 1])  # fmt: skip
            for _ in range(300):
                if len(await _values(http) or []) == total + 2:
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
    assert set(reads) <= {None, total, total + 1}, sorted({n for n in reads if n is not None})
    assert reads[0] is None and reads[-1] == total + 1
    assert mid_fetch, "no read happened while the history was half fetched"
    assert max(cp for _, cp in mid_fetch) > start_checkpoint  # the head was followed meanwhile
    topic0 = await pool.fetchval("SELECT topic0 FROM custom_event_tables WHERE table_name = 'child__transfer'")
    rows = await pool.fetch(
        'SELECT block_number, log_index, address, value FROM custom_events."child__transfer" ORDER BY 1, 2'
    )
    indexed = [(r[0], r[1], r[2], int(r[3])) for r in rows]
    assert indexed == _chain_transfers(chain, [*children, late], topic0)  # the chain's, each log once
    assert len(indexed) == total + 2
    assert sorted(r[0] for r in await pool.fetch("SELECT address FROM custom_children")) == sorted([*children, late])
    assert await pool.fetchval('SELECT count(*) FROM custom_events."factory__created"') == CHILDREN + 1
