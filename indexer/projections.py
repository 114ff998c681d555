"""Projections kept in the same transaction as the raw events: transfers, balances, mints.

Every projection is a deterministic function of the raw event log: ``apply`` folds a batch in,
``revert_after`` undoes everything above a block exactly (used by reorgs), and ``rebuild``
replays the whole log with no RPC. ``updated_block`` of a balance is the block of the last
transfer that touched it, so live-built and replayed projections are identical.
"""

from __future__ import annotations

import asyncpg

from core.chain.manifest import Manifest
from core.db import Queries
from core.db.copy import copy_payload, copy_rows
from core.errors import NonRetryableError
from indexer.contract_projections import ContractProjections
from indexer.decode import DecodedLog, stored_logs
from indexer.rows import (
    TRANSFER_COLUMNS,
    BalanceRows,
    Prepared,
    RowBuilder,
    balance_deltas,
    balance_rows,
    token_fields,
)


class IntegrityError(NonRetryableError):
    """The projections disagree with the raw events: a bug, never papered over."""


class Projections:
    """Transfers and balances of every ERC-20 in the manifest; mints by payment reference."""

    def __init__(self, queries: Queries, tokens: dict[str, tuple[str, str, str]], contracts: set[str] | None = None):
        self.q = queries
        self.tokens = tokens  # contract name -> (from, to, value) field names
        self.contracts = ContractProjections(queries, contracts or set())

    @classmethod
    def from_manifest(cls, manifest: Manifest, queries: Queries) -> Projections:
        return cls(queries, token_fields(manifest), set(manifest.contracts))

    def rows(self, chain_id: int) -> RowBuilder:
        """The pure half: how a batch's logs become the rows ``write`` takes (the fetch side uses it)."""
        return RowBuilder.of(chain_id, self.tokens, self.contracts.contracts)

    # ------------------------------------------------------------------ apply
    async def apply(self, conn: asyncpg.Connection, chain_id: int, logs: list[DecodedLog]) -> None:
        await self.write(conn, chain_id, self.prepare(chain_id, logs))

    def prepare(self, chain_id: int, logs: list[DecodedLog]) -> Prepared:
        """The batch's projection rows, computed without the database (``indexer/rows.py``)."""
        return self.rows(chain_id).projections(logs)

    async def write(self, conn: asyncpg.Connection, chain_id: int, prepared: Prepared) -> None:
        await self.contracts.write(conn, chain_id, prepared.contracts)
        if prepared.transfers:
            await copy_rows(conn, "token_transfers", prepared.transfers, TRANSFER_COLUMNS)
        await copy_payload(conn, "token_transfers", prepared.transfers_text, TRANSFER_COLUMNS)
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
            deltas, _ = balance_deltas(
                (r["token"], r["sender"], r["receiver"], r["amount"], r["block_number"]) for r in rows
            )
            negated = {key: -delta for key, delta in deltas.items()}
            await self._add(conn, chain_id, balance_rows(negated, dict.fromkeys(negated, block)))
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
            await self.apply(conn, chain_id, stored_logs(rows))
            replayed += len(rows)
            after = (rows[-1]["block_number"], rows[-1]["log_index"])
