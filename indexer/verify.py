"""``verify``: compare the projections with direct chain reads at the indexed block."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import asyncpg

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.projections import Projections

log = logging.getLogger("indexer.verify")
BALANCE_OF = "0x70a08231"
TOTAL_SUPPLY = "0x18160ddd"


@dataclass
class Report:
    block: int | None = None
    block_hash: str | None = None
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def verify(pool: asyncpg.Pool, rpc: RpcClient, manifest: Manifest, projections: Projections) -> Report:
    """Every indexed balance and each token's total supply, against eth_call at the indexed block hash."""
    report = Report()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        checkpoint = await conn.fetchrow(
            "SELECT block_number, block_hash FROM indexer_checkpoints WHERE chain_id = $1", manifest.chain_id
        )
        if checkpoint is None:
            report.mismatches.append("nothing indexed yet")
            return report
        report.block, report.block_hash = checkpoint["block_number"], checkpoint["block_hash"]
        balances = await conn.fetch(
            "SELECT token, account, balance::text AS balance FROM token_balances WHERE chain_id = $1 ORDER BY 1, 2",
            manifest.chain_id,
        )
    at = {"blockHash": report.block_hash}
    for offset in range(0, len(balances), 200):
        chunk = balances[offset : offset + 200]
        calls = [
            ("eth_call", [{"to": r["token"], "data": BALANCE_OF + r["account"][2:].rjust(64, "0")}, at]) for r in chunk
        ]
        for row, result in zip(chunk, await rpc.batch(calls), strict=True):
            report.checked += 1
            if int(result, 16) != int(row["balance"]):
                report.mismatches.append(
                    f"{row['token']} balanceOf({row['account']}): chain {int(result, 16)}, indexed {row['balance']}"
                )
    sums: dict[str, int] = {}
    for row in balances:
        sums[row["token"]] = sums.get(row["token"], 0) + int(row["balance"])
    for name in projections.tokens:
        token = manifest.contract(name).address
        supply = int(await rpc.call("eth_call", [{"to": token, "data": TOTAL_SUPPLY}, at]), 16)
        report.checked += 1
        if supply != sums.get(token, 0):
            report.mismatches.append(
                f"{name} totalSupply: chain {supply}, sum of indexed balances {sums.get(token, 0)}"
            )
    return report
