"""A long backfill writes its big tables without their read-only indexes (a configured table's
filters, token_transfers' pages) and builds them when it ends (indexer/indexes.py): real anvil,
real PostgreSQL, the indexer's own backfill."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import pytest

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.indexes import DeferredIndexes
from tests.integration.custom_chain import custom_indexer, deploy, send, write_config
from tests.integration.helpers import sync

TRANSFERS = "transfers(address,uint256,uint256)"
CUSTOM = "custom_events"
TABLE = "probe__transfer"
FILTER_INDEXES = {f"{TABLE}__address", f"{TABLE}__sender", f"{TABLE}__receiver"}


async def _indexes(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'custom_events' AND tablename = $1", TABLE
    )
    return {r["indexname"] for r in rows}


def _probe_chain(chain: str, tmp_path: Path, blocks: int, per_block: int) -> Path:
    """A Probe with ``per_block`` Transfers in each of ``blocks`` blocks, configured from the first of them."""
    probe, block = deploy(chain, "Probe")
    for i in range(blocks):
        send(chain, probe, TRANSFERS, ["address", "uint256", "uint256"], [probe, i * per_block, per_block])
    return write_config(tmp_path, [{"name": "probe", "abi": "Probe", "address": probe, "start_block": block + 1}])


async def _long_backfill(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, config: Path, caplog: pytest.LogCaptureFixture, threshold: int
) -> list[str]:
    """Index the chain as a long backfill (2 blocks a range) with ``INDEXER_DEFER_INDEXES_ROWS=threshold``;
    the indexes it built (their log lines)."""
    async with RpcClient([chain]) as client:
        indexer = custom_indexer(manifest, pool, client, config, max_block_range=2, defer_indexes_rows=threshold)
        indexer.historical.worker_min_blocks = 0  # the test chain is short: treat it as a long backfill
        with caplog.at_level(logging.INFO, "indexer"):
            await sync(indexer)
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("built index")]


async def test_a_long_backfill_builds_the_filter_indexes_when_it_ends(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _probe_chain(chain, tmp_path, blocks=8, per_block=5)
    built = await _long_backfill(chain, manifest, pool, config, caplog, threshold=2)
    assert f"{TABLE}: indexes built when the backfill ends" in caplog.text
    # Dropped once the projection passed 2 rows, built again at the end.
    assert {b.split()[2] for b in built} >= FILTER_INDEXES, built
    assert await _indexes(pool) == {f"{TABLE}_pkey", *FILTER_INDEXES}
    values = await pool.fetch(f'SELECT value FROM custom_events."{TABLE}" ORDER BY block_number, log_index')
    assert [int(r["value"]) for r in values] == list(range(40))
    # The planner walks the rebuilt index for a filtered read again.
    await pool.execute(f'ANALYZE custom_events."{TABLE}"')
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetch(
            f'EXPLAIN SELECT * FROM custom_events."{TABLE}" WHERE chain_id = $1 AND receiver = $2 '
            "ORDER BY block_number DESC, log_index DESC LIMIT 20",
            manifest.chain_id,
            "0x" + "00" * 20,
        )
    assert f"{TABLE}__receiver" in "\n".join(r[0] for r in plan)


async def test_a_backfill_projected_below_the_threshold_keeps_the_indexes(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _probe_chain(chain, tmp_path, blocks=4, per_block=2)
    assert await _long_backfill(chain, manifest, pool, config, caplog, threshold=1000) == []  # none built
    assert "indexes built when the backfill ends" not in caplog.text
    assert await _indexes(pool) == {f"{TABLE}_pkey", *FILTER_INDEXES}


async def _indexed_then_another_run(
    manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, config: Path
) -> DeferredIndexes:
    """Index the chain, then the deferred indexes of a second run (deferring from one projected row)."""
    await sync(custom_indexer(manifest, pool, client, config))
    indexes = custom_indexer(manifest, pool, client, config, defer_indexes_rows=1).historical.indexes
    assert indexes is not None
    return indexes


async def test_indexes_left_dropped_by_a_crash_are_built_by_the_next_run(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    config = _probe_chain(chain, tmp_path, blocks=2, per_block=3)
    async with RpcClient([chain]) as client:
        # A run that deferred them and died before its backfill ended (SIGKILL: nothing ran after the drop).
        crashed = await _indexed_then_another_run(manifest, pool, client, config)
        assert await crashed.grew({(CUSTOM, TABLE): 10}, 1, 10) == [TABLE]
        assert await _indexes(pool) == {f"{TABLE}_pkey"}
        # The next run has nothing to backfill: it builds them before following the head.
        await sync(custom_indexer(manifest, pool, client, config))
    assert await _indexes(pool) == {f"{TABLE}_pkey", *FILTER_INDEXES}


async def test_a_table_readers_hold_keeps_its_indexes(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _probe_chain(chain, tmp_path, blocks=1, per_block=2)
    async with RpcClient([chain]) as client:
        indexes = await _indexed_then_another_run(manifest, pool, client, config)
        async with pool.acquire() as reader, reader.transaction():
            await reader.fetch(f'SELECT * FROM custom_events."{TABLE}" LIMIT 1')  # holds its ACCESS SHARE lock
            with caplog.at_level(logging.WARNING, "indexer"):
                assert await indexes.grew({(CUSTOM, TABLE): 10}, 1, 10) == []
    assert f"{TABLE}: readers held it" in caplog.text
    assert await _indexes(pool) == {f"{TABLE}_pkey", *FILTER_INDEXES}


async def _own_indexes(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'token_transfers' AND indexname LIKE '%_page'"
    )
    return {r["indexname"]: r["indexdef"] for r in rows}


async def test_token_transfers_page_indexes_come_back_as_their_migration_made_them(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    migrated = await _own_indexes(pool)
    assert set(migrated) == {"token_transfers_sender_page", "token_transfers_receiver_page"}
    config = _probe_chain(chain, tmp_path, blocks=1, per_block=1)
    async with RpcClient([chain]) as client:
        indexes = await _indexed_then_another_run(manifest, pool, client, config)
        assert await indexes.grew({("", "token_transfers"): 10}, 1, 10) == ["token_transfers"]
        assert await _own_indexes(pool) == {}
        # The head follower's rollback refreshes balances through them: a backfill with nothing to
        # write (it hands over to the head follower) builds them first.
        fresh = custom_indexer(manifest, pool, client, config)
        assert await fresh.backfill() == 0
    assert await _own_indexes(pool) == migrated
