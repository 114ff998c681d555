"""``verify``'s raw-event checks: what was indexed against what the chain logged.

- Raw events per manifest address (``chain_events``, decoded or stored raw) against the
  chain's ``eth_getLogs`` count from the contract's deploy block to the indexed block.
- Each configured contract's rows (its event tables, plus its logs stored raw) against the
  chain's logs of its configured events at its addresses (factory children from the block that
  announced them), from its start block to the indexed block; and its raw log (``custom_logs``,
  what ``replay`` rebuilds its tables from) log by log against the same logs.
- Logs stored raw because they could not be decoded are listed (notes, not mismatches: they
  are kept, nothing is lost).

``eth_getLogs`` is asked in chunks; a chunk the node refuses as too large is split.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

import asyncpg

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db.identifiers import qualified
from core.errors import RequestTooLarge
from indexer.custom import versions
from indexer.custom.sources import CustomSources
from indexer.store import QUERIES

CHUNK_BLOCKS = 2000
LISTED_UNDECODABLE = 20  # raw logs named one by one; the rest are counted


class Reporting(Protocol):
    checked: int
    mismatches: list[str]
    notes: list[str]


async def chain_logs(
    rpc: RpcClient, start: int, end: int, addresses: list[str], topics: list[str] | None = None
) -> list[dict[str, Any]]:
    """Every log of ``addresses`` (with topic0 in ``topics``, if given) in ``start..end``."""
    found: list[dict[str, Any]] = []
    step = CHUNK_BLOCKS
    while start <= end and addresses:
        last = min(end, start + step - 1)
        query: dict[str, Any] = {"fromBlock": hex(start), "toBlock": hex(last), "address": addresses}
        if topics is not None:
            query["topics"] = [topics]
        try:
            found += await rpc.call("eth_getLogs", [query])
        except RequestTooLarge:
            if last == start:
                raise
            step = max(1, (last - start + 1) // 2)
            continue
        start = last + 1
    return found


async def verify_events(
    pool: asyncpg.Pool,
    rpc: RpcClient,
    manifest: Manifest,
    custom: CustomSources | None,
    *,
    block: int,
    report: Reporting,
) -> None:
    chain_id = manifest.chain_id
    ours = {r["address"]: r["n"] for r in await pool.fetch(QUERIES.event_counts_by_address, chain_id, 0, block)}
    for name, contract in manifest.contracts.items():
        logs = await chain_logs(rpc, contract.deploy_block, block, [contract.address])
        report.checked += 1
        if len(logs) != ours.get(contract.address, 0):
            report.mismatches.append(
                f"{name} ({contract.address}): the chain has {len(logs)} logs in blocks {contract.deploy_block}.."
                f"{block}, chain_events has {ours.get(contract.address, 0)}"
            )
    if custom is not None:
        await _verify_custom(pool, rpc, custom, chain_id=chain_id, block=block, report=report)
    rows = await pool.fetch(QUERIES.undecodable_logs, chain_id, LISTED_UNDECODABLE + 1)
    for row in rows[:LISTED_UNDECODABLE]:
        args = row["args"]
        report.notes.append(
            f"stored raw (undecodable): {row['contract']}.{args.get('event')} at block {row['block_number']} "
            f"log {row['log_index']} (tx {row['tx_hash']}): {args.get('error')}"
        )
    if len(rows) > LISTED_UNDECODABLE:
        total = sum(r["n"] for r in await pool.fetch(QUERIES.undecodable_counts, chain_id))
        report.notes.append(f"... {total - LISTED_UNDECODABLE} more logs stored raw (see `indexer status`)")


async def _verify_custom(
    pool: asyncpg.Pool, rpc: RpcClient, custom: CustomSources, *, chain_id: int, block: int, report: Reporting
) -> None:
    progress = {r["contract"]: r for r in await pool.fetch(QUERIES.custom_progress, chain_id)}
    children = await pool.fetch(QUERIES.custom_children, chain_id)
    registered = {r["table_name"]: r for r in await pool.fetch(QUERIES.custom_registered)}
    for name, contract in custom.contracts.items():
        row = progress.get(name)
        if row is None or row["done"] < row["target"]:
            report.notes.append(f"{name}: still catching up; its rows are not checked")
            continue
        if not contract.tables or any(  # (no table served yet: added with history, built beside)
            (r := registered.get(t.table)) is None or versions.row_version(r) != versions.table_version(t)
            for t in contract.tables
        ):
            report.notes.append(f"{name}: a table is being rebuilt (projections status); its rows are not checked")
            continue
        since = dict.fromkeys(contract.addresses, contract.start_block)  # address -> first block it counts from
        for child in children:
            if child["contract"] == name:
                since.setdefault(child["address"], max(contract.start_block, child["block_number"]))
        if not since:
            continue
        topics = [t.topic0 for t in contract.tables]
        logs = await chain_logs(rpc, min(since.values()), block, sorted(since), topics)
        expected = Counter(
            g["address"].lower() for g in logs if int(g["blockNumber"], 16) >= since[g["address"].lower()]
        )
        indexed = 0
        async with pool.acquire() as conn:
            for table in contract.tables:
                indexed += await conn.fetchval(
                    f"SELECT count(*) FROM {qualified(table.table)} WHERE chain_id = $1 AND block_number <= $2",
                    chain_id,
                    block,
                )
            indexed += await conn.fetchval(QUERIES.undecodable_count_of, chain_id, name, block)
            stored = {_raw_key(r) for r in await conn.fetch(QUERIES.custom_logs_of, chain_id, name, block, topics)}
        report.checked += 2
        if indexed != sum(expected.values()):
            report.mismatches.append(
                f"configured contract {name}: the chain has {sum(expected.values())} logs of its events, "
                f"its tables (and raw logs) hold {indexed}"
            )
        chain = {_chain_key(g) for g in logs if int(g["blockNumber"], 16) >= since[g["address"].lower()]}
        if stored != chain:
            report.mismatches.append(
                f"configured contract {name}: its raw log (custom_logs) lacks {len(chain - stored)} of the chain's "
                f"logs and holds {len(stored - chain)} the chain does not have"
            )


RawKey = tuple[int, int, str, str, str, tuple[str, ...], str]


def _raw_key(row: asyncpg.Record) -> RawKey:
    return (
        row["block_number"],
        row["log_index"],
        row["block_hash"],
        row["tx_hash"],
        row["address"],
        tuple(row["topics"]),
        row["data"].lower(),
    )


def _chain_key(log: dict[str, Any]) -> RawKey:
    return (
        int(log["blockNumber"], 16),
        int(log["logIndex"], 16),
        log["blockHash"].lower(),
        log["transactionHash"].lower(),
        log["address"].lower(),
        tuple(t.lower() for t in log["topics"]),
        log["data"].lower(),
    )
