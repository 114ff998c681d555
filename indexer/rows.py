"""A batch's rows, prepared from decoded logs without the database: the fetch side calls this.

Raw events (``chain_events`` records), ERC-20 transfers and balance deltas, mints by payment
reference, and the contracts' rows (``indexer/contract_rows.py``). A backfill runs it in the fetch
worker's process, so the writer only sends rows; ``indexer/projections.py`` writes and reverts them.
"""

from __future__ import annotations

import collections
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.chain.manifest import Manifest, erc20_transfer_fields
from core.db.copy import copy_text
from indexer.codec import EVENT_COLUMNS, EVENT_TYPES, UNDECODABLE
from indexer.contract_rows import PROJECTED, ContractRows, contract_rows
from indexer.decode import ZERO_ADDRESS, DecodedLog

TRANSFER = "Transfer"
TRANSFER_COLUMNS = ["chain_id", "block_number", "log_index", "token", "sender", "receiver", "amount", "tx_hash"]
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
    transfers_text: bytes = b""  # the transfers as COPY text, once encoded (``BatchRows.encoded``)


@dataclass(frozen=True)
class BatchRows:
    """A batch's rows ready to write: prepared where it was fetched (the fetch worker, in a backfill)."""

    events: list[tuple[Any, ...]]  # chain_events records (EVENT_COLUMNS)
    projections: Prepared
    counts: dict[tuple[str, str], int]  # events per (contract, event), for the metrics
    events_text: bytes = b""  # the events as COPY text, once encoded
    undecodable: list[tuple[str, str]] = field(default_factory=list)  # (contract, event) of each, once encoded

    @property
    def n_events(self) -> int:
        return sum(self.counts.values())

    def undecodable_labels(self) -> list[tuple[str, str]]:
        """(contract, event) of every log stored undecodable (the metric's labels)."""
        if self.events_text:
            return self.undecodable
        return [(r[6], json.loads(r[8])["event"]) for r in self.events if r[7] == UNDECODABLE]

    def encoded(self) -> BatchRows:
        """These rows with the bulk ones as COPY text (what the fetch worker hands over: a few ``bytes``
        instead of every field pickled): the events, the transfers, the append-only contract tables."""
        if self.events_text or not self.events:
            return self
        p = self.projections
        contracts = ContractRows(
            {}, p.contracts.steps, {t: copy_text(r, len(r[0])) for t, r in p.contracts.rows.items()}
        )
        transfers = copy_text(p.transfers, len(TRANSFER_COLUMNS)) if p.transfers else b""
        prepared = Prepared(contracts, [], p.balances, p.mints, transfers)
        labels = self.undecodable_labels()
        return BatchRows([], prepared, self.counts, copy_text(self.events, len(EVENT_COLUMNS), EVENT_TYPES), labels)


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
