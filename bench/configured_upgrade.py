"""The configured-table half of ``bench.projection_upgrade``: a changed definition of a configured
contract's table (README "Upgrading projections", ``indexer/custom/rebuild.py``) rebuilt beside from
``custom_logs`` and swapped, against the configured contracts' live write path, in the same run.

The raw log is synthesized in Postgres: ``--configured-events`` ERC-20 ``Transfer`` logs of one
contract (``core/chain/artifacts/Coin.json``'s ABI), 20 a block, between random accounts, as the
indexer stores them (topics, 32-byte data). The served table (``value``) is filled by ``replay``; the
configuration then renames ``value`` to ``amount``, and ``rebuild.upgrade`` builds the new table (the
same decoder as the indexer, COPY into ``projection_shadow``), catches up under the raw log's lock and
swaps. The live figure is what the running indexer does per fetched page once the logs are parsed
(decode + COPY of the typed rows and the raw log), over the first ``--live-events``, rolled back.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from core.settings import ROOT
from indexer.custom import QUERIES, rebuild
from indexer.custom.config import load_contracts
from indexer.custom.sources import CustomSources
from indexer.custom.store import CustomStore, stored_log

COIN = "0x" + "c1" * 20
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SYNTHESIZE = """
INSERT INTO custom_logs (chain_id, block_number, log_index, block_hash, block_time, tx_hash, address, contract,
                         topics, data)
SELECT $1, g / 20, g % 20, 'h' || (g / 20), to_timestamp(1700000000 + g / 20), 't' || g, $2, 'coin',
       ARRAY[$3, '0x' || lpad(to_hex((hashint4(g) & 2147483647) % $5), 64, '0'),
             '0x' || lpad(to_hex((hashint4(g + 7) & 2147483647) % $5), 64, '0')],
       '0x' || lpad(to_hex(1 + (hashint4(g + 13) & 1048575)), 64, '0')
FROM generate_series(0, $4 - 1) AS g
"""


def _configuration(tmp: Path, rename: bool) -> Path:
    abi = json.loads((ROOT / "core/chain/artifacts/Coin.json").read_text(encoding="utf-8"))["abi"]
    if rename:
        transfer = next(e for e in abi if e.get("type") == "event" and e["name"] == "Transfer")
        next(i for i in transfer["inputs"] if i["name"] == "value")["name"] = "amount"
    name = f"coin_{int(rename)}"
    (tmp / f"{name}.json").write_text(json.dumps(abi), encoding="utf-8")
    path = tmp / f"{name}.toml"
    path.write_text(f'[[contracts]]\nname = "coin"\nabi = "{name}.json"\naddress = "{COIN}"\nevents = ["Transfer"]\n')
    return path


async def _no_logs(start: int, end: int, addresses: list[str]) -> list[dict[str, Any]] | None:
    raise AssertionError("the rebuild of a renamed column reads the raw log, never the node")


async def _no_times(blocks: list[int]) -> dict[int, datetime]:
    raise AssertionError("the rebuild of a renamed column reads the raw log, never the node")


def _store(path: Path, chain_id: int) -> CustomStore:
    return CustomStore(QUERIES, CustomSources(load_contracts(path), chain_id))


async def run(pool: asyncpg.Pool, chain_id: int, events: int, accounts: int, live_events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        v1, v2 = _configuration(Path(tmp), False), _configuration(Path(tmp), True)
        served = _store(v1, chain_id)
        (table,) = served.wanted[0].tables
        async with pool.acquire() as conn:  # the served table, as an indexer started with v1 created it
            for statement in table.ddl():
                await conn.execute(statement)
            await served.register(conn, table)
            await conn.execute(QUERIES.custom_progress_add, chain_id, "coin", -1, -1)
            await served.ensure_tables(conn)
        started = time.monotonic()
        await pool.execute(SYNTHESIZE, chain_id, COIN, TRANSFER, events, accounts)
        last = (events - 1) // 20
        checkpoint = await pool.fetchrow("SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1",
                                         chain_id)  # fmt: skip
        if checkpoint is None or checkpoint["block_number"] < last:
            await pool.execute(
                "INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)"
                " ON CONFLICT (chain_id) DO UPDATE SET block_number = $2, block_hash = $3",
                chain_id, last, f"h{last}",
            )  # fmt: skip
            await pool.execute(
                "INSERT INTO indexed_blocks (chain_id, number, hash, parent_hash, timestamp)"
                " VALUES ($1, $2, $3, '', 0) ON CONFLICT DO NOTHING",
                chain_id, last, f"h{last}",
            )  # fmt: skip
        async with pool.acquire() as conn:
            await served.replay(conn, chain_id)  # the served table, as the indexer wrote it
        await pool.execute("ANALYZE custom_logs")
        print(f"configured: synthesized {events:,} Transfer logs in custom_logs + the served table"
              f" in {time.monotonic() - started:.1f}s")  # fmt: skip

        # live: decode + COPY (typed rows and raw log), per 20,000-log page, as the running indexer writes
        pages, after = [], (-1, -1)
        while sum(len(p) for p in pages) < live_events:
            page = await pool.fetch(QUERIES.custom_logs_page, chain_id, ["coin"], after[0], after[1], 20_000)
            if not page:
                break
            pages.append(page)
            after = (page[-1]["block_number"], page[-1]["log_index"])
        async with pool.acquire() as conn:
            tr = conn.transaction()
            await tr.start()
            await conn.execute('TRUNCATE custom_logs, custom_events."coin__transfer"')
            started = time.monotonic()
            for page in pages:
                logs = [stored_log(r) for r in page]
                rows = served.sources.decode(logs, {r["block_number"]: r["block_time"] for r in page})
                await served.write_rows(conn, chain_id, rows, [])
            done = sum(len(p) for p in pages)
            live_rate = done / (time.monotonic() - started)
            await tr.rollback()

        wanted = _store(v2, chain_id)
        async with pool.acquire() as conn:
            await wanted.ensure_tables(conn)
        (p,) = wanted.pending.values()

        started = time.monotonic()
        built = await rebuild.upgrade(pool, wanted, p, _no_logs, _no_times)
        upgrade_s = time.monotonic() - started
    rows = await pool.fetchval('SELECT count(*) FROM custom_events."coin__transfer"')
    assert rows == events, (rows, events)
    rate = events / upgrade_s
    print(f"configured upgrade: {events:,} logs -> custom_events.coin__transfer in {upgrade_s:.2f}s"
          f" = {rate:,.0f} events/s (build alone {built.events_s:,.0f} events/s)")  # fmt: skip
    print(f"configured live write path: {done:,} events at {live_rate:,.0f} events/s")
    print(f"configured ratio: the rebuild runs {rate / live_rate:.1f}x the live write rate")
