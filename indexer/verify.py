"""``verify``: compare the projections with direct chain reads at the indexed block."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import asyncpg
from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import NonRetryableRpcError
from indexer.custom.sources import CustomSources
from indexer.decode import ZERO_ADDRESS
from indexer.projections import Projections
from indexer.verify_events import verify_events

log = logging.getLogger("indexer.verify")
BALANCE_OF = "0x70a08231"
TOTAL_SUPPLY = "0x18160ddd"


@dataclass
class Report:
    block: int | None = None
    block_hash: str | None = None
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure (e.g. logs stored raw)

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def verify(
    pool: asyncpg.Pool,
    rpc: RpcClient,
    manifest: Manifest,
    projections: Projections,
    custom: CustomSources | None = None,
) -> Report:
    """Raw events against the chain's logs (see :mod:`indexer.verify_events`); every indexed
    balance, each token's total supply, auctions, passes, earnings and accruals against eth_call
    at the indexed block hash."""
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
    await verify_events(pool, rpc, manifest, custom, block=checkpoint["block_number"], report=report)
    at: dict[str, str | None] = {"blockHash": report.block_hash}
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
    if "MeetingAuction" in manifest.contracts:
        await _verify_auctions(pool, rpc, manifest, report, at)
    if "MeetingPass" in manifest.contracts:
        await _verify_passes(pool, rpc, manifest, report, at)
    if "TipRouter" in manifest.contracts:
        await _verify_earnings(pool, rpc, manifest, report, at)
    if "Engagement" in manifest.contracts:
        await _verify_accruals(pool, rpc, manifest, report, at)
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


_AUCTION_STATUS = {1: "active", 2: "ended", 3: "cancelled"}
_AUCTION_TUPLE = "(address,uint256,uint256,address,uint256,uint256,uint8,uint256)"


async def _verify_auctions(
    pool: asyncpg.Pool, rpc: RpcClient, manifest: Manifest, report: Report, at: dict[str, str | None]
) -> None:
    """Each indexed auction against ``auctions(id)`` (seller, end, highest bid/bidder, status, pass)."""
    address = manifest.contract("MeetingAuction").address
    rows = await pool.fetch(
        "SELECT auction_id, seller, end_time, highest_bidder, highest_bid::text AS highest_bid, status,"
        " pass_id FROM auctions WHERE chain_id = $1 ORDER BY auction_id",
        manifest.chain_id,
    )
    selector = "0x" + function_signature_to_4byte_selector("auctions(uint256)").hex()
    for offset in range(0, len(rows), 200):
        chunk = rows[offset : offset + 200]
        calls = [
            ("eth_call", [{"to": address, "data": selector + int(r["auction_id"]).to_bytes(32).hex()}, at])
            for r in chunk
        ]
        for row, result in zip(chunk, await rpc.batch(calls), strict=True):
            report.checked += 1
            ((seller, _, end, bidder, bid, _, status, pass_id),) = abi_decode(
                [_AUCTION_TUPLE], bytes.fromhex(result[2:])
            )
            chain = (
                seller.lower(),
                end,
                None if bidder == ZERO_ADDRESS else bidder.lower(),
                bid,
                _AUCTION_STATUS.get(status),
                pass_id or None,
            )
            ours = (
                row["seller"],
                row["end_time"],
                row["highest_bidder"],
                int(row["highest_bid"]),
                row["status"],
                int(row["pass_id"]) if row["pass_id"] is not None else None,
            )
            if chain != ours:
                report.mismatches.append(f"auction {row['auction_id']}: chain {chain}, indexed {ours}")


async def _verify_passes(
    pool: asyncpg.Pool, rpc: RpcClient, manifest: Manifest, report: Report, at: dict[str, str | None]
) -> None:
    """Each indexed pass's owner against ``ownerOf`` (a burned pass must not have one)."""
    address = manifest.contract("MeetingPass").address
    rows = await pool.fetch(
        "SELECT token_id, owner FROM meeting_passes WHERE chain_id = $1 ORDER BY token_id", manifest.chain_id
    )
    selector = "0x" + function_signature_to_4byte_selector("ownerOf(uint256)").hex()
    for row in rows:
        report.checked += 1
        data = selector + int(row["token_id"]).to_bytes(32).hex()
        try:
            owner: str | None = "0x" + (await rpc.call("eth_call", [{"to": address, "data": data}, at]))[-40:]
        except NonRetryableRpcError:
            owner = None  # burned: ownerOf reverts
        if owner != row["owner"]:
            report.mismatches.append(f"pass {row['token_id']}: chain owner {owner}, indexed {row['owner']}")


async def _calls(rpc: RpcClient, to: str, data: list[str], at: dict[str, str | None]) -> list[str]:
    results: list[str] = []
    for offset in range(0, len(data), 200):
        results += await rpc.batch([("eth_call", [{"to": to, "data": d}, at]) for d in data[offset : offset + 200]])
    return results


def _word(value: str | int) -> str:
    return (value[2:].rjust(64, "0")) if isinstance(value, str) else value.to_bytes(32).hex()


async def _verify_earnings(
    pool: asyncpg.Pool, rpc: RpcClient, manifest: Manifest, report: Report, at: dict[str, str | None]
) -> None:
    """What the router owes each account (the ``router_earnings`` view) against ``earnings(account, token)``."""
    rows = await pool.fetch(
        "SELECT account, token, amount::text AS amount FROM router_earnings WHERE chain_id = $1 ORDER BY 1, 2",
        manifest.chain_id,
    )
    selector = "0x" + function_signature_to_4byte_selector("earnings(address,address)").hex()
    data = [selector + _word(r["account"]) + _word(r["token"]) for r in rows]
    for row, result in zip(rows, await _calls(rpc, manifest.contract("TipRouter").address, data, at), strict=True):
        report.checked += 1
        if int(result, 16) != int(row["amount"]):
            report.mismatches.append(
                f"earnings({row['account']}, {row['token']}): chain {int(result, 16)}, indexed {row['amount']}"
            )


async def _verify_accruals(
    pool: asyncpg.Pool, rpc: RpcClient, manifest: Manifest, report: Report, at: dict[str, str | None]
) -> None:
    """Every indexed accrual epoch is accrued on chain (``epoch_accrued``), and at most once in our rows per account."""
    rows = await pool.fetch(
        "SELECT epoch::text AS epoch, count(*) AS n, count(DISTINCT account) AS accounts FROM accruals"
        " WHERE chain_id = $1 GROUP BY epoch ORDER BY epoch",
        manifest.chain_id,
    )
    selector = "0x" + function_signature_to_4byte_selector("epoch_accrued(uint256)").hex()
    data = [selector + _word(int(r["epoch"])) for r in rows]
    for row, result in zip(rows, await _calls(rpc, manifest.contract("Engagement").address, data, at), strict=True):
        report.checked += 1
        if int(result, 16) != 1:
            report.mismatches.append(f"accrual epoch {row['epoch']}: indexed, but not accrued on chain")
        if row["n"] != row["accounts"]:
            report.mismatches.append(f"accrual epoch {row['epoch']}: an account accrued twice in the indexed rows")
