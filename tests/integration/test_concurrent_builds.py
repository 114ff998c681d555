"""Builds beside at the same time (README "Upgrading projections"): a ``token_balances`` upgrade and a
configured table's rebuild share ``projection_shadow`` without destroying each other's tables, and one
projection is built by one process at a time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.identifiers import qualified
from indexer.custom import rebuild
from indexer.rows import token_fields
from indexer.upgrade import definition, swap
from tests.integration.custom_chain import compiled, custom_indexer, deploy, send
from tests.integration.helpers import DEPLOYER, mint_directly, sync

BALANCES = "SELECT chain_id, token, account, balance::text, updated_block FROM token_balances ORDER BY 1, 2, 3"


def _config(tmp: Path, probe: str, block: int, *, rename: bool) -> Path:
    """Probe's configuration; ``rename``: Transfer's ``value`` is called ``amount`` (a changed definition)."""
    abi: list[dict[str, Any]] = json.loads(json.dumps(compiled("Probe")[0]))
    if rename:
        transfer = next(item for item in abi if item.get("type") == "event" and item["name"] == "Transfer")
        next(i for i in transfer["inputs"] if i["name"] == "value")["name"] = "amount"
    name = f"probe_{int(rename)}"
    (tmp / f"{name}.json").write_text(json.dumps(abi))
    path = tmp / f"{name}.toml"
    path.write_text(f'[[contracts]]\nname = "probe"\nabi = "{name}.json"\naddress = "{probe}"\nstart_block = {block}\n')
    return path


def _balances(tmp_path: Path, manifest: Manifest, n: int) -> definition.Definition:
    """The shipped balances projection, changed (its text, so its version)."""
    path = tmp_path / f"balances_{n}.sql"
    path.write_text(definition.BALANCES_SQL.read_text(encoding="utf-8") + f"\n-- changed {n}\n", encoding="utf-8")
    return definition.balances(token_fields(manifest), path)


async def test_a_balances_upgrade_and_a_configured_rebuild_run_at_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe, block = deploy(chain, "Probe")
    for value in (1, 2, 3):
        send(chain, probe, "transfer(address,address,uint256)", ["address", "address", "uint256"],
             [DEPLOYER, DEPLOYER, value])  # fmt: skip
        mint_directly(chain, manifest, DEPLOYER, value)
    v1, v2 = _config(tmp_path, probe, block, rename=False), _config(tmp_path, probe, block, rename=True)
    async with RpcClient([chain]) as client:
        await sync(custom_indexer(manifest, pool, client, v1))
        indexer = custom_indexer(manifest, pool, client, v2)
        await sync(indexer)
        custom = indexer.store.custom
        assert custom is not None
        balances = [tuple(r) for r in await pool.fetch(BALANCES)]
        assert balances

        # 1. The balances upgrade runs whole while the configured table's shadow is built, not yet swapped.
        p = custom.pending["probe__transfer"]
        built = await rebuild.build(pool, custom, p)
        await swap.upgrade(pool, _balances(tmp_path, manifest, 1), manifest.chain_id)
        assert await pool.fetchval("SELECT to_regclass('projection_shadow.probe__transfer') IS NOT NULL")
        await rebuild.finish(pool, custom, p, built)  # its shadow is still there to swap in
        amounts = await pool.fetchval(
            f"SELECT array_agg(amount ORDER BY block_number) FROM {qualified(p.wanted.table)}"
        )
        assert [int(a) for a in amounts] == [1, 2, 3]

        # 2. Both at once, from the start: another changed definition of each.
        again = custom_indexer(manifest, pool, client, v1)
        await sync(again)  # v1 is pending now (v2 served)
        assert again.store.custom is not None
        (back,) = again.store.custom.pending.values()
        reader = again.reader
        await asyncio.gather(
            rebuild.upgrade(pool, again.store.custom, back, reader.get_logs, reader.block_times),
            swap.upgrade(pool, _balances(tmp_path, manifest, 2), manifest.chain_id),
        )
    assert [tuple(r) for r in await pool.fetch(BALANCES)] == balances
    values = await pool.fetch('SELECT value FROM custom_events."probe__transfer" ORDER BY block_number')
    assert [int(r[0]) for r in values] == [1, 2, 3]
    assert await pool.fetchval("SELECT version FROM projection_versions WHERE name = 'token_balances'") == (
        _balances(tmp_path, manifest, 2).version
    )
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projection\\_%'") == 0


async def test_one_projection_is_built_by_one_process_at_a_time(
    manifest: Manifest, pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    other = await create_pool(db_url, max_size=2)  # another process's sessions
    try:
        async with swap.build_lock(other, ["token_balances"]):
            with pytest.raises(swap.BuildBusy):
                await swap.upgrade(pool, _balances(tmp_path, manifest, 1), manifest.chain_id)
            async with swap.build_lock(pool, ["probe__transfer"]):  # another projection: built meanwhile
                pass
        await swap.upgrade(pool, _balances(tmp_path, manifest, 1), manifest.chain_id)  # released: it runs
    finally:
        await other.close()
    d = _balances(tmp_path, manifest, 1)
    assert (await swap.status(pool, d))["state"] == "current"
