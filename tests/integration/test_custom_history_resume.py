"""A rebuild's history fetch keeps its progress (README "Upgrading projections"): ``projections upgrade``
SIGKILLed halfway through a new contract's history resumes where it was, and the result is the chain's;
a rollback lowers the progress with the raw log it deletes; a factory's history stopped midway resumes with
the children it had found."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.settings import ROOT
from indexer.custom import rebuild
from tests.integration.custom_chain import custom_indexer, deploy, send, write_config
from tests.integration.helpers import make_indexer, sync

BURSTS, PER_BURST, GAP, STEP = 5, 200, 1000, 10  # 1,000 Transfers over ~5,000 blocks, 10 blocks a range


def _history(chain: str, probe: str) -> int:
    receiver = Account.create().address
    for i in range(BURSTS):
        rpc(chain, "anvil_mine", [hex(GAP)], timeout=60)
        send(chain, probe, "transfers(address,uint256,uint256)", ["address", "uint256", "uint256"],
             [receiver, 1 + i * PER_BURST, PER_BURST])  # fmt: skip
    return BURSTS * PER_BURST


async def _progress(pool: asyncpg.Pool, topic0: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT done, fetched_blocks FROM custom_history_progress WHERE contract = 'probe' AND topic0 = $1", topic0
    )


async def test_a_killed_history_fetch_resumes_where_it_was(
    chain: str, manifest: Manifest, manifest_path: Path, pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    total = _history(chain, probe)
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))  # the checkpoint moves past the history
    upto = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")
    transfer: Any = rpc(chain, "eth_getLogs", [{"fromBlock": hex(block), "toBlock": hex(upto), "address": [probe]}])
    topic0 = transfer[0]["topics"][0].lower()
    assert len(transfer) == total
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url, "RPC_URLS": chain}
    env |= {"MANIFEST_PATH": str(manifest_path), "INDEXER_CONTRACTS_PATH": str(config)}
    env |= {"INDEXER_MAX_BLOCK_RANGE": str(STEP), "INDEXER_FETCH_WORKER": "false"}
    argv = [sys.executable, "-m", "indexer", "projections", "upgrade"]

    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        for _ in range(3000):
            row = await _progress(pool, topic0)
            if row is not None and row["done"] >= block + (upto - block) // 3:
                break
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the history fetch never got a third of the way")
        first.send_signal(signal.SIGKILL)  # mid-fetch: no clean-up of any kind
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        log.close()
    killed = await _progress(pool, topic0)
    assert killed is not None and block < killed["done"] < upto, (tuple(killed or ()), block, upto)
    assert await pool.fetchval("SELECT to_regclass('custom_events.probe__transfer')") is None  # not served
    assert await pool.fetchval("SELECT count(*) FROM custom_event_tables WHERE contract = 'probe'") == 0

    second = await asyncio.create_subprocess_exec(*argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.PIPE)  # fmt: skip
    _, stderr = await asyncio.wait_for(second.communicate(), 300)
    assert second.returncode == 0, stderr.decode()[-3000:]
    final = await _progress(pool, topic0)
    assert final is not None and final["done"] == upto
    again = final["fetched_blocks"] - killed["fetched_blocks"]  # the blocks asked of the node the second time
    assert 0 < again <= upto - killed["done"] < upto - block + 1, (again, tuple(killed), block, upto)
    values = await pool.fetch('SELECT value FROM custom_events."probe__transfer" ORDER BY block_number, log_index')
    assert [int(r[0]) for r in values] == list(range(1, total + 1))  # each log once: the chain's
    assert await pool.fetchval("SELECT count(*) FROM custom_logs WHERE contract = 'probe'") == total


async def test_a_rollback_lowers_the_history_progress(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    receiver = Account.create().address
    for first in (1, 11):
        rpc(chain, "anvil_mine", ["0x5"])
        send(chain, probe, "transfers(address,uint256,uint256)", ["address", "uint256", "uint256"],
             [receiver, first, 10])  # fmt: skip
    config = write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block}])
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))
        head = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")
        indexer = custom_indexer(manifest, pool, client, config)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None and sorted(custom.pending) == ["probe__kitchen", "probe__transfer"]
        reader = indexer.reader
        await rebuild.fetch_history(pool, custom, list(custom.pending.values()), reader.get_logs, reader.block_times)
        assert {r[0] for r in await pool.fetch("SELECT done FROM custom_history_progress")} == {head}
        rpc(chain, "anvil_reorg", [1, []])  # the block of the second burst is replaced (its logs are gone)
        await sync(indexer)
        # Lowered to the rollback's common ancestor (the newest stored block the new branch shares).
        (lowered,) = {r[0] for r in await pool.fetch("SELECT done FROM custom_history_progress")}
        assert lowered < head
        task = indexer.rebuild_pending()
        assert task is not None and sorted(await task) == ["probe__kitchen", "probe__transfer"]
    values = await pool.fetch('SELECT value FROM custom_events."probe__transfer" ORDER BY block_number, log_index')
    assert [int(r[0]) for r in values] == list(range(1, 11))
    assert await pool.fetchval("SELECT count(*) FROM custom_logs WHERE contract = 'probe'") == 10


async def test_a_factorys_history_stopped_midway_resumes_with_its_children(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A factory added with history: the fetch stopped after its first child was found resumes after its
    progress (the child from ``custom_children``), finds the second, and the children's table is the chain's."""
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    children = []
    for i in range(2):
        rpc(chain, "anvil_mine", [hex(GAP)], timeout=60)
        created = send(chain, factory, "create()", [], [])
        children.append("0x" + created["logs"][0]["topics"][1][-40:])
        send(chain, children[-1], "transfers(address,uint256,uint256)", ["address", "uint256", "uint256"],
             [Account.create().address, 1 + i * PER_BURST, PER_BURST])  # fmt: skip
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))
        upto = await pool.fetchval("SELECT block_number FROM indexer_checkpoints")
        first = custom_indexer(manifest, pool, client, config)
        await first.prepare()
        custom, reader = first.store.custom, first.reader
        assert custom is not None and sorted(custom.pending) == ["child__transfer", "factory__created"]
        calls = 0

        async def stopping(start: int, end: int, addresses: list[str]) -> list[dict[str, Any]] | None:
            nonlocal calls
            calls += 1
            if calls > (GAP + GAP // 2) // STEP:  # past the first child, before the second
                raise RuntimeError("stopped")
            return await reader.get_logs(start, end, addresses)

        group = list(custom.pending.values())
        with contextlib.suppress(RuntimeError):
            await rebuild.fetch_history(pool, custom, group, stopping, reader.block_times, step=STEP)
        assert [r[0] for r in await pool.fetch("SELECT address FROM custom_children")] == children[:1]
        stopped = {r[0]: (r[1], r[2]) for r in await pool.fetch(
            "SELECT contract, done, fetched_blocks FROM custom_history_progress")}  # fmt: skip
        assert block < stopped["factory"][0] < upto and stopped["child"] == stopped["factory"]
        assert custom.sources.followed > 0 and children[0] in first.addresses  # handed to the live path

        again = custom_indexer(manifest, pool, client, config, max_block_range=STEP)  # a new process
        await again.prepare()
        assert children[0] in again.addresses  # known from custom_children
        task = again.rebuild_pending()
        assert task is not None and sorted(await task) == ["child__transfer", "factory__created"]
    final = {r[0]: r[1] for r in await pool.fetch("SELECT contract, fetched_blocks FROM custom_history_progress")}
    assert final["factory"] - stopped["factory"][1] <= upto - stopped["factory"][0]  # resumed after `done`
    values = await pool.fetch('SELECT value FROM custom_events."child__transfer" ORDER BY block_number, log_index')
    assert [int(r[0]) for r in values] == list(range(1, 2 * PER_BURST + 1))  # each log once: the chain's
    assert sorted(r[0] for r in await pool.fetch("SELECT address FROM custom_children")) == sorted(children)


async def test_a_rollback_during_a_factorys_build_drops_the_child_it_replaced(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The factory's history fetched (two children found), then a reorg replaces the second child's block: the
    rollback deletes that child and its raw log, and the swapped tables are the new branch's."""
    implementation, _ = deploy(chain, "Probe")
    factory, block = deploy(chain, "ProbeFactory", implementation, types=("address",))
    children = []
    for i in range(2):
        rpc(chain, "anvil_mine", ["0x5"])
        created = send(chain, factory, "create_and_transfer(address,uint256)", ["address", "uint256"],
                       [Account.create().address, 1 + i])  # fmt: skip
        children.append("0x" + created["logs"][0]["topics"][1][-40:])
    config = write_config(
        tmp_path,
        [
            {"name": "factory", "abi": "ProbeFactory", "address": factory, "start_block": block},
            {"name": "child", "abi": "Probe", "start_block": block, "events": ["Transfer"],
             "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
        ],
    )  # fmt: skip
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))
        indexer = custom_indexer(manifest, pool, client, config)
        await sync(indexer)
        custom, reader = indexer.store.custom, indexer.reader
        assert custom is not None and sorted(custom.pending) == ["child__transfer", "factory__created"]
        group = list(custom.pending.values())
        await rebuild.fetch_history(pool, custom, group, reader.get_logs, reader.block_times)
        assert sorted(r[0] for r in await pool.fetch("SELECT address FROM custom_children")) == sorted(children)
        rpc(chain, "anvil_reorg", [1, []])  # the second child's block is replaced by an empty one
        await sync(indexer)
        assert [r[0] for r in await pool.fetch("SELECT address FROM custom_children")] == children[:1]
        assert children[1] not in indexer.addresses
        task = indexer.rebuild_pending()
        assert task is not None and sorted(await task) == ["child__transfer", "factory__created"]
    assert await pool.fetchval('SELECT count(*) FROM custom_events."factory__created"') == 1
    values = await pool.fetch('SELECT address, value FROM custom_events."child__transfer"')
    assert [(r[0], int(r[1])) for r in values] == [(children[0], 1)]
