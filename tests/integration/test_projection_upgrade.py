"""Projection upgrades (README "Upgrading projections"): built beside the served table, swapped in one
transaction, under live traffic (relayer minting, indexer following, API reading), across a reorg and a failed build."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from eth_account import Account

from anvil.node import rpc
from api.store import ApiStore
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.settings import ROOT
from indexer.projections import Projections
from indexer.rows import token_fields
from indexer.store import QUERIES
from indexer.upgrade import definition, swap
from indexer.upgrade.cli import check_at_start
from tests.integration.helpers import make_indexer, make_relayer, new_ref, relay_all, sync

HAS_COUNT = (
    "SELECT count(*) FROM pg_attribute"
    " WHERE attrelid = 'public.token_balances'::regclass AND attname = 'transfer_count'"
)
COLUMNS = "chain_id, token, account, balance::text, updated_block"


def _changed(tmp_path: Path, manifest: Manifest) -> definition.Definition:
    """The shipped balances projection plus a column derived from the raw args (transfers counted)."""
    text = definition.BALANCES_SQL.read_text(encoding="utf-8")
    edits = [
        (
            "    updated_block bigint NOT NULL\n);",
            "    updated_block bigint NOT NULL,\n    transfer_count bigint NOT NULL DEFAULT 0\n);",
        ),
        (
            "INSERT INTO projection_shadow.token_balances (chain_id, token, account, balance, updated_block)\n"
            "SELECT $1, token, account, sum(delta), max(block_number) FROM d GROUP BY token, account;",
            "INSERT INTO projection_shadow.token_balances"
            " (chain_id, token, account, balance, updated_block, transfer_count)\n"
            "SELECT $1, token, account, sum(delta), max(block_number), count(*) FROM d GROUP BY token, account;",
        ),
    ]
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "balances_v2.sql"
    path.write_text(text, encoding="utf-8")
    return definition.balances(token_fields(manifest), path)


async def _mint(manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, key: str, to: str, amount: int) -> None:
    relayer, store = make_relayer(manifest, pool, client, key)
    await relayer.prepare()
    ref = new_ref()
    await store.enqueue("mint", f"mint:{ref}", {"to": to, "amount": amount, "payment_ref": ref})
    await relay_all(relayer, store)


async def _served_equals_replay(pool: asyncpg.Pool, chain_id: int, projections: Projections) -> int:
    async with pool.acquire() as conn:
        served = set(await conn.fetch(f"SELECT {COLUMNS} FROM token_balances"))
        tr = conn.transaction()
        await tr.start()
        await projections.rebuild(conn, chain_id)
        replayed = set(await conn.fetch(f"SELECT {COLUMNS} FROM token_balances"))
        await tr.rollback()
    assert served == replayed
    return len(served)


async def test_an_upgrade_under_live_traffic_swaps_with_no_failed_read(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str, db_url: str, tmp_path: Path
) -> None:
    fan = Account.create().address
    shipped = definition.balances(token_fields(manifest))
    changed = _changed(tmp_path, manifest)
    assert changed.version != shipped.version
    api = ApiStore(await asyncpg.create_pool(db_url, min_size=2, max_size=2), manifest.chain_id)
    reads, failures, done = [0], [], asyncio.Event()
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await _mint(manifest, pool, client, relayer_key, fan, 1)
        await sync(indexer)
        await swap.record_if_unrecorded(pool, shipped)
        assert (await swap.status(pool, changed))["state"] == "changed"

        minted = [1]  # amounts minted and indexed, in order
        stop_traffic = asyncio.Event()

        async def traffic() -> None:  # the relayer minting and the indexer following, until told to stop
            while not stop_traffic.is_set():
                await _mint(manifest, pool, client, relayer_key, fan, len(minted) + 1)
                await sync(indexer)
                minted.append(len(minted) + 1)

        async def read_loop() -> None:
            while not done.is_set():
                try:
                    _, balances = await api.balances(fan.lower())
                    reads[0] += 1
                    assert balances, "a read found no balance"
                except Exception as exc:  # noqa: BLE001 (every failed read is counted, whatever it is)
                    failures.append(exc)
                await asyncio.sleep(0)

        async def until_minted(count: int) -> None:
            for _ in range(600):
                if len(minted) >= count:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"traffic stalled at {len(minted)} mints")

        reader = asyncio.create_task(read_loop())
        minting = asyncio.create_task(traffic())
        built = await swap.build(pool, changed, manifest.chain_id)  # while minting and indexing go on
        await until_minted(len(minted) + 2)  # indexed after the build's snapshot: caught up by the swap
        await swap.finish(pool, changed, manifest.chain_id, built)
        assert built.block < await pool.fetchval("SELECT max(block_number) FROM chain_events")
        await until_minted(len(minted) + 2)  # and written into the swapped table by the live indexer
        stop_traffic.set()
        await minting
        done.set()
        await reader
        await api.pool.close()
    assert failures == []
    assert reads[0] > 0
    assert (await swap.status(pool, changed))["state"] == "current"
    assert await pool.fetchval("SELECT balance FROM token_balances WHERE account = $1", fan.lower()) == sum(minted)
    assert await pool.fetchval(HAS_COUNT) == 1
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection\\_%'") == 0
    assert await _served_equals_replay(pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES)) > 0


async def test_a_reorg_during_the_build_is_handled(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str, tmp_path: Path
) -> None:
    kept, dropped = Account.create().address, Account.create().address
    changed = _changed(tmp_path, manifest)
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await _mint(manifest, pool, client, relayer_key, kept, 10)
        rpc(chain, "anvil_mine", ["0x3"])
        await _mint(manifest, pool, client, relayer_key, dropped, 20)
        await sync(indexer)
        built = await swap.build(pool, changed, manifest.chain_id)  # includes the mint to `dropped`
        rpc(chain, "anvil_reorg", [2, []])
        await sync(indexer)
        await swap.finish(pool, changed, manifest.chain_id, built)
    balance = "SELECT balance FROM token_balances WHERE account = $1"
    assert await pool.fetchval(balance, kept.lower()) == 10
    assert await pool.fetchval(balance, dropped.lower()) in (None, 0)
    await _served_equals_replay(pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES))


async def test_a_reorg_above_the_build_snapshot_is_caught_up_from_the_log(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str, tmp_path: Path
) -> None:
    fan = Account.create().address
    changed = _changed(tmp_path, manifest)
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await _mint(manifest, pool, client, relayer_key, fan, 1)
        await sync(indexer)
        built = await swap.build(pool, changed, manifest.chain_id)
        await _mint(manifest, pool, client, relayer_key, fan, 2)
        await _mint(manifest, pool, client, relayer_key, fan, 4)
        await sync(indexer)
        rpc(chain, "anvil_reorg", [1, []])  # the last mint's block (above the snapshot) is replaced
        await sync(indexer)
        await swap.finish(pool, changed, manifest.chain_id, built)
    assert await pool.fetchval("SELECT balance FROM token_balances WHERE account = $1", fan.lower()) == 3
    await _served_equals_replay(pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES))


async def test_a_failed_build_leaves_the_old_version_serving_and_is_retried(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str, tmp_path: Path
) -> None:
    fan = Account.create().address
    shipped = definition.balances(token_fields(manifest))
    changed = _changed(tmp_path, manifest)
    broken_path = tmp_path / "broken.sql"
    broken_path.write_text(
        changed.path.read_text(encoding="utf-8").replace("count(*)", "count(*) / 0"), encoding="utf-8"
    )
    broken = definition.balances(token_fields(manifest), broken_path)
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, fan, 5)
        await sync(make_indexer(manifest, pool, client))
    await swap.record_if_unrecorded(pool, shipped)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await swap.upgrade(pool, broken, manifest.chain_id)
    # A build that died between its build and its swap: the shadow is there, never served.
    await swap.build(pool, changed, manifest.chain_id)
    assert (await swap.status(pool, changed))["served"] == shipped.version
    assert await pool.fetchval("SELECT balance FROM token_balances WHERE account = $1", fan.lower()) == 5
    assert await pool.fetchval(HAS_COUNT) == 0
    await swap.upgrade(pool, changed, manifest.chain_id, keep=1)  # the retry starts the shadow over
    assert (await swap.status(pool, changed))["state"] == "current"
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection\\_v\\_%'") == 1
    await _served_equals_replay(pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES))


async def test_a_changed_projection_is_detected_at_start(
    manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shipped = definition.balances(token_fields(manifest))
    assert (await swap.status(pool, shipped))["state"] == "unrecorded"
    assert await check_at_start(pool, [shipped]) == []  # a database from before versions: the shipped one
    assert (await swap.status(pool, shipped))["state"] == "current"
    assert await check_at_start(pool, [_changed(tmp_path, manifest)]) == ["token_balances"]


def test_the_cli_shows_and_upgrades(db_url: str, chain: str, manifest_path: Path) -> None:
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url, "RPC_URLS": chain}
    env["MANIFEST_PATH"] = str(manifest_path)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "indexer", "projections", *argv],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    assert json.loads(run("status").stdout)[0]["state"] == "unrecorded"
    run("upgrade")  # an unrecorded one is built beside and swapped in like a changed one
    assert json.loads(run("status").stdout)[0]["state"] == "current"
    assert "nothing to do" in run("upgrade").stderr


async def test_an_upgrade_killed_midway_leaves_the_old_table_serving_and_is_retried(
    chain: str, manifest: Manifest, manifest_path: Path, pool: asyncpg.Pool, relayer_key: str, db_url: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        await _mint(manifest, pool, client, relayer_key, fan, 9)
        await sync(make_indexer(manifest, pool, client))
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url, "RPC_URLS": chain}
    env["MANIFEST_PATH"] = str(manifest_path)
    argv = [sys.executable, "-m", "indexer", "projections", "upgrade"]
    holder = await asyncpg.connect(db_url)  # a writer mid-batch: the swap waits for its lock
    tr = holder.transaction()
    await tr.start()
    await holder.execute("LOCK TABLE chain_events IN ROW EXCLUSIVE MODE")
    proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL)
    waiting = (  # in this database only: the cloned test databases share the tables' oids
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE d.datname = current_database() AND l.relation = 'chain_events'::regclass AND NOT l.granted"
    )
    for _ in range(600):
        if await pool.fetchval(waiting):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the upgrade never reached its swap")
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = 'projection_shadow'") == 1
    proc.kill()  # killed with the shadow built and the swap not done
    await proc.wait()
    await tr.rollback()
    await holder.close()
    assert await pool.fetchval("SELECT balance FROM token_balances WHERE account = $1", fan.lower()) == 9
    assert await pool.fetchval("SELECT count(*) FROM projection_versions") == 0  # nothing was swapped
    retry = await asyncio.create_subprocess_exec(*argv, env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL)
    assert await asyncio.wait_for(retry.wait(), 120) == 0
    assert await pool.fetchval("SELECT count(*) FROM projection_versions") == 1
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection\\_%'") == 0
    await _served_equals_replay(pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES))
