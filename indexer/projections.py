"""Projections kept in the same transaction as the raw events: transfers, balances, mints.

Every projection is a deterministic function of the raw event log: ``apply`` folds a batch in,
``revert_after`` undoes everything above a block exactly (used by reorgs), and ``rebuild``
replays the whole log with no RPC. ``updated_block`` of a balance is the block of the last
transfer that touched it, so live-built and replayed projections are identical.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from core.chain.manifest import Manifest, erc20_transfer_fields
from core.db import Queries
from core.db.copy import copy_rows
from core.errors import NonRetryableError
from indexer.contract_projections import ContractProjections, ContractRows
from indexer.decode import ZERO_ADDRESS, DecodedLog

TRANSFER = "Transfer"
MINTED = "Minted"
TRANSFER_COLUMNS = ["chain_id", "block_number", "log_index", "token", "sender", "receiver", "amount", "tx_hash"]


class IntegrityError(NonRetryableError):
    """The projections disagree with the raw events: a bug, never papered over."""


Key = tuple[str, str]  # (token address, account)
BalanceRow = tuple[str, str, str, int]  # token, account, delta (decimal text), last touching block
BalanceRows = tuple[list[BalanceRow], list[BalanceRow], list[BalanceRow]]  # decreases, increases, net-zero


@dataclass(frozen=True)
class Prepared:
    """A batch's projection rows, ready to write."""

    contracts: ContractRows
    transfers: list[tuple[Any, ...]]  # token_transfers rows
    balances: BalanceRows
    mints: list[tuple[Any, ...]]  # (payment_ref, token, account, amount, tx_hash, block)


class Projections:
    """Transfers and balances of every ERC-20 in the manifest; mints by payment reference."""

    def __init__(self, queries: Queries, tokens: dict[str, tuple[str, str, str]], contracts: set[str] | None = None):
        self.q = queries
        self.tokens = tokens  # contract name -> (from, to, value) field names
        self.contracts = ContractProjections(queries, contracts or set())

    @classmethod
    def from_manifest(cls, manifest: Manifest, queries: Queries) -> Projections:
        tokens = {}
        for name, contract in manifest.contracts.items():
            fields = erc20_transfer_fields(contract.abi)
            if fields:
                tokens[name] = fields
        return cls(queries, tokens, set(manifest.contracts))

    # ------------------------------------------------------------------ apply
    async def apply(self, conn: asyncpg.Connection, chain_id: int, logs: list[DecodedLog]) -> None:
        await self.write(conn, chain_id, self.prepare(chain_id, logs))

    def prepare(self, chain_id: int, logs: list[DecodedLog]) -> Prepared:
        """The batch's projection rows, computed without the database.

        A backfill runs this in the fetch worker's process, so the writer only sends rows.
        """
        transfers = []
        for g in logs:
            fields = self.tokens.get(g.contract) if g.event == TRANSFER else None
            if fields:
                src, dst, value = (g.args[f] for f in fields)
                transfers.append((chain_id, g.block_number, g.log_index, g.address, src, dst, value, g.tx_hash))
        deltas, last_block = _deltas((t[3], t[4], t[5], t[6], t[1]) for t in transfers)
        mints = [
            (m.args["payment_ref"], m.address, m.args["to"], str(m.args["amount"]), m.tx_hash, m.block_number)
            for m in logs
            if m.event == MINTED and "payment_ref" in m.args
        ]
        return Prepared(self.contracts.prepare(chain_id, logs), transfers, _balance_rows(deltas, last_block), mints)

    async def write(self, conn: asyncpg.Connection, chain_id: int, prepared: Prepared) -> None:
        await self.contracts.write(conn, chain_id, prepared.contracts)
        if prepared.transfers:
            await copy_rows(conn, "token_transfers", prepared.transfers, TRANSFER_COLUMNS)
            await self._add(conn, chain_id, prepared.balances)
        if prepared.mints:
            await conn.execute(self.q.insert_mints, chain_id, *map(list, zip(*prepared.mints, strict=True)))

    async def _add(self, conn: asyncpg.Connection, chain_id: int, balances: BalanceRows) -> None:
        downs, ups, touched = balances
        if downs:
            status = await conn.execute(self.q.subtract_balance_deltas, chain_id, *map(list, zip(*downs, strict=True)))
            if int(status.split()[-1]) != len(downs):
                raise IntegrityError(f"a balance to decrease is missing ({len(downs)} expected, {status})")
        if ups:
            await conn.execute(self.q.add_balance_deltas, chain_id, *map(list, zip(*ups, strict=True)))
        # Net-zero changes still move updated_block (the account was touched).
        if touched:
            await conn.execute(self.q.add_balance_deltas, chain_id, *map(list, zip(*touched, strict=True)))

    # ----------------------------------------------------------------- revert
    async def revert_after(self, conn: asyncpg.Connection, chain_id: int, block: int) -> None:
        await self.contracts.revert_after(conn, chain_id, block)
        rows = await conn.fetch(self.q.transfers_after, chain_id, block)
        if rows:
            deltas, _ = _deltas((r["token"], r["sender"], r["receiver"], r["amount"], r["block_number"]) for r in rows)
            negated = {key: -delta for key, delta in deltas.items()}
            await self._add(conn, chain_id, _balance_rows(negated, dict.fromkeys(negated, block)))
            await conn.execute(self.q.delete_transfers_after, chain_id, block)
            keys = sorted(negated)
            await conn.execute(self.q.refresh_balance_blocks, chain_id, [k[0] for k in keys], [k[1] for k in keys])
        await conn.execute(self.q.delete_mints_after, chain_id, block)

    # ---------------------------------------------------------------- rebuild
    async def rebuild(self, conn: asyncpg.Connection, chain_id: int, chunk: int = 20_000) -> int:
        """Recompute every projection from ``chain_events`` alone; returns the events replayed."""
        for table in ("balances", "transfers", "mints"):
            await conn.execute(self.q[f"reset_chain_{table}"], chain_id)
        await self.contracts.reset(conn, chain_id)
        replayed = 0
        after = (-1, -1)
        while True:
            rows = await conn.fetch(self.q.events_page, chain_id, after[0], after[1], chunk)
            if not rows:
                return replayed
            logs = [
                DecodedLog(r["block_number"], r["block_hash"], r["tx_hash"], r["log_index"], r["address"],
                           r["contract"], r["event"], r["args"])
                for r in rows
            ]  # fmt: skip
            await self.apply(conn, chain_id, logs)
            replayed += len(rows)
            after = (rows[-1]["block_number"], rows[-1]["log_index"])


def _balance_rows(deltas: dict[Key, int], last_block: dict[Key, int]) -> BalanceRows:
    """(decreases, increases, net-zero touches) as (token, account, delta, block) rows, sorted:
    a fixed order of row locks, so concurrent writers cannot deadlock."""

    def rows(sign: int) -> list[BalanceRow]:
        return sorted((t, a, str(d), last_block[(t, a)]) for (t, a), d in deltas.items() if d * sign > 0)

    touched = sorted((t, a, "0", last_block[(t, a)]) for (t, a), d in deltas.items() if d == 0)
    return rows(-1), rows(+1), touched


def _deltas(transfers: Iterable[tuple[str, str, str, Any, int]]) -> tuple[dict[Key, int], dict[Key, int]]:
    """Net balance change and last touching block per (token, account); the zero address is skipped."""
    deltas: dict[Key, int] = defaultdict(int)
    last: dict[Key, int] = {}
    for token, src, dst, value, block in transfers:
        amount = int(value)
        for account, signed in ((src, -amount), (dst, amount)):
            if account != ZERO_ADDRESS:
                deltas[(token, account)] += signed
                last[(token, account)] = max(block, last.get((token, account), block))
    return deltas, last
