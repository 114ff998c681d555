"""Configured contracts' tables upgraded like projections (README "Upgrading projections"): a changed
definition built beside from the raw log and swapped under live traffic, a new event given its
history from the node, a reorg during the build, a killed build leaving the old table serving."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
from eth_account import Account

from anvil.node import rpc
from api.store import ApiStore
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.identifiers import qualified, quote
from core.settings import ROOT
from indexer.app import Indexer
from indexer.custom import rebuild
from indexer.custom.abi import event_tables
from tests.integration.custom_chain import compiled, custom_indexer, deploy, send
from tests.integration.helpers import DEPLOYER, sync

TRANSFER = "transfer(address,address,uint256)"
KITCHEN = "kitchen(string,string,uint256[],int8,bytes)"
SCHEMAS = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection\\_%'"


def _config(tmp: Path, probe: str, block: int, *, rename: bool = False, events: list[str] | None = None) -> Path:
    """The Probe contract's configuration; ``rename``: Transfer's ``value`` is called ``amount``."""
    abi: list[dict[str, Any]] = json.loads(json.dumps(compiled("Probe")[0]))
    if rename:
        transfer = next(item for item in abi if item.get("type") == "event" and item["name"] == "Transfer")
        next(i for i in transfer["inputs"] if i["name"] == "value")["name"] = "amount"
    name = "probe_v2" if rename else "probe_v1"
    (tmp / f"{name}.json").write_text(json.dumps(abi))
    only = f"events = {json.dumps(events)}\n" if events is not None else ""
    path = tmp / f"{name}_{len(events or [])}.toml"
    path.write_text(
        f'[[contracts]]\nname = "probe"\nabi = "{name}.json"\naddress = "{probe}"\nstart_block = {block}\n{only}'
    )
    return path


def _transfer(chain: str, probe: str, value: int) -> None:
    send(chain, probe, TRANSFER, ["address", "address", "uint256"], [DEPLOYER, Account.create().address, value])


def _kitchen(chain: str, probe: str, small: int) -> None:
    send(chain, probe, KITCHEN, ["string", "string", "uint256[]", "int8", "bytes"], ["t", "n", [small], small, b"\x01"])


async def _follow(indexer: Indexer) -> None:
    """Index up to the head as ``run`` does after its start (no new ``prepare``: the writer sees a swap)."""
    for _ in range(1000):
        if not (await indexer.backfill() or await indexer.sync_once()):
            return
    raise AssertionError("the indexer never caught up")


async def _rows(pool: asyncpg.Pool | asyncpg.Connection, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pool.fetch(f"SELECT * FROM {qualified(table)} ORDER BY block_number, log_index")]


async def _equals_replay(pool: asyncpg.Pool, indexer: Indexer, table: str) -> int:
    """The served table equals a fresh replay of the raw log (rolled back); its row count."""
    custom = indexer.store.custom
    assert custom is not None
    served = await _rows(pool, table)
    async with pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        await custom.replay(conn, indexer.manifest.chain_id)
        replayed = await _rows(conn, table)
        await tr.rollback()
    assert served == replayed
    return len(served)


def _chain_count(chain: str, probe: str, topic: str) -> int:
    logs: Any = rpc(chain, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": [probe],
                                           "topics": [topic]}])  # fmt: skip
    return len(logs)


async def _columns(pool: asyncpg.Pool, table: str) -> set[str]:
    rows = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'custom_events' AND table_name = $1",
        table,
    )
    return {r[0] for r in rows}


async def test_a_changed_definition_is_swapped_under_live_traffic_with_no_failed_read(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    v1, v2 = _config(tmp_path, probe, block), _config(tmp_path, probe, block, rename=True)
    for value in (1, 2, 3):
        _transfer(chain, probe, value)
    api = ApiStore(await create_pool(db_url, max_size=2), manifest.chain_id)
    reads, failures, done, stop = [0], [], asyncio.Event(), asyncio.Event()
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, v1))
        indexer = custom_indexer(manifest, pool, client, v2)
        await sync(indexer)  # started with the new configuration: the served definition is written meanwhile
        custom = indexer.store.custom
        assert custom is not None and list(custom.pending) == ["probe__transfer"]
        assert "value" in await _columns(pool, "probe__transfer")
        sent = [3]

        async def traffic() -> None:
            while not stop.is_set():
                _transfer(chain, probe, sent[0] + 1)
                await _follow(indexer)
                sent[0] += 1

        async def read(conn: asyncpg.Connection) -> list[asyncpg.Record]:  # as GET /api/events/probe/Transfer does
            row = await conn.fetchrow(api.q.custom_event_table, "probe", "Transfer")
            columns = ", ".join(quote(c["column"]) for c in row["columns"])
            return list(await conn.fetch(f"SELECT {columns} FROM {qualified('probe__transfer')}"))

        async def read_loop() -> None:
            while not done.is_set():
                try:
                    result = await api.read_table(qualified("probe__transfer"), read)
                    assert result is not None and len(result[1]) >= 3
                    reads[0] += 1
                except Exception as exc:  # noqa: BLE001 (every failed read is counted, whatever it is)
                    failures.append(exc)
                await asyncio.sleep(0)

        async def until_sent(count: int) -> None:
            for _ in range(600):
                if sent[0] >= count:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"traffic stalled at {sent[0]} transfers")

        reader, sender = asyncio.create_task(read_loop()), asyncio.create_task(traffic())
        p = custom.pending["probe__transfer"]
        assert p.same_topic and not await rebuild.needs_history(pool, p, manifest.chain_id)  # all in custom_logs
        built = await rebuild.build(pool, custom, p)
        await until_sent(sent[0] + 2)  # indexed after the build's snapshot: caught up by the swap
        await rebuild.finish(pool, custom, p, built)
        await until_sent(sent[0] + 2)  # written by the live indexer with the new definition
        stop.set()
        await sender
        done.set()
        await reader
        await api.pool.close()
    assert failures == []
    assert reads[0] > 0
    assert custom.pending == {}
    columns = await _columns(pool, "probe__transfer")
    assert "amount" in columns and "value" not in columns
    registered = await pool.fetchval("SELECT columns FROM custom_event_tables WHERE table_name = 'probe__transfer'")
    assert [c["name"] for c in registered] == ["sender", "receiver", "amount"]
    assert await pool.fetchval(SCHEMAS) == 0  # the shadow moved in, the old version dropped
    n = await _equals_replay(pool, indexer, "probe__transfer")
    assert n == sent[0] == _chain_count(chain, probe, p.wanted.topic0)
    amounts = await pool.fetch('SELECT amount FROM custom_events."probe__transfer" ORDER BY block_number')
    assert [int(r[0]) for r in amounts] == list(range(1, n + 1))


async def test_a_new_event_of_an_indexed_contract_gets_its_history(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    only_transfers, everything = _config(tmp_path, probe, block, events=["Transfer"]), _config(tmp_path, probe, block)
    _transfer(chain, probe, 1)
    _kitchen(chain, probe, 1)
    _kitchen(chain, probe, 2)
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, only_transfers))
        _kitchen(chain, probe, 3)  # after the checkpoint, before the new configuration starts
        indexer = custom_indexer(manifest, pool, client, everything)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None and list(custom.pending) == ["probe__kitchen"]
        assert await _columns(pool, "probe__kitchen") == set()  # not served while its history is missing
        _kitchen(chain, probe, 4)  # indexed meanwhile: its raw log is kept for the rebuild
        await _follow(indexer)
        task = indexer.rebuild_pending()
        assert task is not None and await task == ["probe__kitchen"]
        _kitchen(chain, probe, 5)
        await _follow(indexer)
    smalls = await pool.fetch('SELECT small FROM custom_events."probe__kitchen" ORDER BY block_number')
    assert [int(r[0]) for r in smalls] == [1, 2, 3, 4, 5]
    (kitchen,) = event_tables("probe", compiled("Probe")[0], ["Kitchen"])
    assert _chain_count(chain, probe, kitchen.topic0) == 5
    assert await _equals_replay(pool, indexer, "probe__kitchen") == 5
    assert await pool.fetchval("SELECT count(*) FROM custom_event_tables WHERE table_name = 'probe__kitchen'") == 1


async def test_a_reorg_during_the_build_is_handled(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    v1, v2 = _config(tmp_path, probe, block), _config(tmp_path, probe, block, rename=True)
    _transfer(chain, probe, 10)
    rpc(chain, "anvil_mine", ["0x3"])
    _transfer(chain, probe, 20)
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, v1))
        indexer = custom_indexer(manifest, pool, client, v2)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None
        p = custom.pending["probe__transfer"]
        built = await rebuild.build(pool, custom, p)  # includes the transfer of 20
        rpc(chain, "anvil_reorg", [2, []])  # its block (the snapshot's) is replaced
        await _follow(indexer)
        _transfer(chain, probe, 30)
        await _follow(indexer)
        await rebuild.finish(pool, custom, p, built)
        _transfer(chain, probe, 40)
        await _follow(indexer)
        assert custom.pending == {}  # the writer saw the swap under the raw log's lock
    amounts = await pool.fetch('SELECT amount FROM custom_events."probe__transfer" ORDER BY block_number')
    assert [int(r[0]) for r in amounts] == [10, 30, 40]
    assert await _equals_replay(pool, indexer, "probe__transfer") == _chain_count(chain, probe, p.wanted.topic0)


async def test_a_killed_upgrade_leaves_the_old_table_serving_and_the_cli_retries(
    chain: str, manifest: Manifest, manifest_path: Path, pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    v1, v2 = _config(tmp_path, probe, block), _config(tmp_path, probe, block, rename=True)
    _transfer(chain, probe, 7)
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, v1))
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url, "RPC_URLS": chain}
    env |= {"MANIFEST_PATH": str(manifest_path), "INDEXER_CONTRACTS_PATH": str(v2)}

    def projections(*argv: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "indexer", "projections", *argv],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if argv == ("status",) else []

    state = {r["name"]: r["state"] for r in projections("status")}
    assert state["custom_events.probe__transfer"] == "changed"
    assert state["custom_events.probe__kitchen"] == "current"
    argv = [sys.executable, "-m", "indexer", "projections", "upgrade"]
    holder = await asyncpg.connect(db_url)  # a writer mid-batch: the swap waits for the raw log's lock
    tr = holder.transaction()
    await tr.start()
    await holder.execute("LOCK TABLE custom_logs IN ROW EXCLUSIVE MODE")
    proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL)
    waiting = (
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE d.datname = current_database() AND l.relation = 'custom_logs'::regclass AND NOT l.granted"
    )
    for _ in range(1200):
        if await pool.fetchval(waiting):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the upgrade never reached its swap")
    assert await pool.fetchval("SELECT to_regclass('projection_shadow.probe__transfer') IS NOT NULL")
    proc.kill()  # killed with the shadow built and the swap not done
    await proc.wait()
    await tr.rollback()
    await holder.close()
    assert "value" in await _columns(pool, "probe__transfer")  # the old one serves, registered as it was
    assert await pool.fetchval('SELECT value FROM custom_events."probe__transfer"') == 7
    assert {r["name"]: r["state"] for r in projections("status")}["custom_events.probe__transfer"] == "changed"
    projections("upgrade", "--keep", "1")  # the retry starts the shadow over
    assert {r["name"]: r["state"] for r in projections("status")}["custom_events.probe__transfer"] == "current"
    assert await pool.fetchval('SELECT amount FROM custom_events."probe__transfer"') == 7
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection\\_v\\_%'") >= 1


async def test_rows_without_a_raw_log_take_their_history_from_the_node(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    v1, v2 = _config(tmp_path, probe, block), _config(tmp_path, probe, block, rename=True)
    for value in (1, 2):
        _transfer(chain, probe, value)
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, v1))
        await pool.execute("DELETE FROM custom_logs")  # as rows indexed before the raw log existed (0024)
        indexer = custom_indexer(manifest, pool, client, v2)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None
        assert await rebuild.needs_history(pool, custom.pending["probe__transfer"], manifest.chain_id)
        task = indexer.rebuild_pending()
        assert task is not None and await task == ["probe__transfer"]
    amounts = await pool.fetch('SELECT amount FROM custom_events."probe__transfer" ORDER BY block_number')
    assert [int(r[0]) for r in amounts] == [1, 2]
    assert await _equals_replay(pool, indexer, "probe__transfer") == 2
