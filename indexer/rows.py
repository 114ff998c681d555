"""A batch's rows, prepared from decoded logs without the database: the fetch side calls this.

Raw events (``chain_events`` records), ERC-20 transfers and balance deltas, mints by payment
reference, and the contracts' rows (``indexer/contract_rows.py``). A backfill runs it in the fetch
worker's process, so the writer only sends rows; ``indexer/projections.py`` writes and reverts them.
"""

from __future__ import annotations

import collections
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.chain.manifest import Manifest, erc20_transfer_fields
from indexer.contract_rows import PROJECTED, ContractRows, contract_rows
from indexer.decode import ZERO_ADDRESS, DecodedLog

TRANSFER = "Transfer"
MINTED = "Minted"

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


@dataclass(frozen=True)
class BatchRows:
    """A batch's rows ready to write: prepared where it was fetched (the fetch worker, in a backfill)."""

    events: list[tuple[Any, ...]]  # chain_events records (EVENT_COLUMNS)
    projections: Prepared
    counts: dict[tuple[str, str], int]  # events per (contract, event), for the metrics


def token_fields(manifest: Manifest) -> dict[str, tuple[str, str, str]]:
    """The manifest's ERC-20s: contract name -> the (from, to, value) fields of its Transfer event."""
    tokens = {}
    for name, contract in manifest.contracts.items():
        fields = erc20_transfer_fields(contract.abi)
        if fields:
            tokens[name] = fields
    return tokens


@dataclass(frozen=True)
class RowBuilder:
    """How one chain's decoded logs become rows: which contracts are ERC-20s, which have projections."""

    chain_id: int
    tokens: dict[str, tuple[str, str, str]]  # contract name -> (from, to, value) field names
    contracts: frozenset[str]  # the contracts with projections of their own (``contract_rows.PROJECTED``)

    @classmethod
    def of(cls, chain_id: int, tokens: dict[str, tuple[str, str, str]], contracts: Iterable[str]) -> RowBuilder:
        return cls(chain_id, tokens, frozenset(contracts) & PROJECTED)

    def batch(self, logs: list[DecodedLog]) -> BatchRows:
        """A batch's rows: raw events, projections, and the events counted per (contract, event)."""
        chain_id = self.chain_id
        events = [
            (
                chain_id,
                g.block_number,
                g.block_hash,
                g.tx_hash,
                g.log_index,
                g.address,
                g.contract,
                g.event,
                g.args_json if g.args_json is not None else g.args,
            )
            for g in logs
        ]
        counts = collections.Counter((g.contract, g.event) for g in logs)
        return BatchRows(events, self.projections(logs), dict(counts))

    def projections(self, logs: list[DecodedLog]) -> Prepared:
        chain_id = self.chain_id
        transfers = []
        for g in logs:
            fields = self.tokens.get(g.contract) if g.event == TRANSFER else None
            if fields:
                src, dst, value = (g.args[f] for f in fields)
                transfers.append((chain_id, g.block_number, g.log_index, g.address, src, dst, value, g.tx_hash))
        deltas, last_block = balance_deltas((t[3], t[4], t[5], t[6], t[1]) for t in transfers)
        mints = [
            (m.args["payment_ref"], m.address, m.args["to"], str(m.args["amount"]), m.tx_hash, m.block_number)
            for m in logs
            if m.event == MINTED and "payment_ref" in m.args
        ]
        contracts = contract_rows(chain_id, self.contracts, logs)
        return Prepared(contracts, transfers, balance_rows(deltas, last_block), mints)


def balance_rows(deltas: dict[Key, int], last_block: dict[Key, int]) -> BalanceRows:
    """(decreases, increases, net-zero touches) as (token, account, delta, block) rows, sorted:
    a fixed order of row locks, so concurrent writers cannot deadlock."""

    def rows(sign: int) -> list[BalanceRow]:
        return sorted((t, a, str(d), last_block[(t, a)]) for (t, a), d in deltas.items() if d * sign > 0)

    touched = sorted((t, a, "0", last_block[(t, a)]) for (t, a), d in deltas.items() if d == 0)
    return rows(-1), rows(+1), touched


def balance_deltas(transfers: Iterable[tuple[str, str, str, Any, int]]) -> tuple[dict[Key, int], dict[Key, int]]:
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
