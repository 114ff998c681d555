"""Projections of the tipping and meeting-auction contracts.

Append-only facts (intent outcomes, withdrawals, treasury changes, accruals, bids) are COPYed
and rolled back by block. Auctions and meeting passes are state machines: their events are
applied in log order, and a rollback recomputes each touched auction or pass from its raw
events at or below the ancestor, through the same code, so live, rolled-back and replayed
projections agree.
"""

from __future__ import annotations

import asyncpg

from core.db import Queries
from core.db.copy import copy_payload, copy_rows
from indexer.contract_rows import APPEND_ONLY, AUCTION, PASS, PROJECTED, Bids, ContractRows, Step, or_none, state_steps
from indexer.decode import DecodedLog, stored_logs


class ContractProjections:
    def __init__(self, queries: Queries, contracts: set[str]) -> None:
        self.q = queries
        self.contracts = contracts & PROJECTED

    # ------------------------------------------------------------------ apply
    async def write(self, conn: asyncpg.Connection, chain_id: int, prepared: ContractRows) -> None:
        for table, records in prepared.rows.items():
            await copy_rows(conn, table, records)
        for table, text in prepared.texts.items():  # encoded by the fetch worker (``BatchRows.encoded``)
            await copy_payload(conn, table, text)
        await self._run_steps(conn, chain_id, prepared.steps)

    async def _run_steps(self, conn: asyncpg.Connection, chain_id: int, steps: list[Step]) -> None:
        for step in steps:
            if isinstance(step, dict):
                await self._flush_bids(conn, chain_id, step)
            else:
                await self._apply_state(conn, chain_id, step)

    async def _flush_bids(self, conn: asyncpg.Connection, chain_id: int, bids: Bids) -> None:
        keys = sorted(bids)  # a fixed lock order
        await conn.execute(
            self.q.auction_bids,
            chain_id,
            keys,
            [bids[k][0] for k in keys],
            [bids[k][1] for k in keys],
            [bids[k][3] for k in keys],
            [bids[k][2] for k in keys],
        )

    async def _apply_state(self, conn: asyncpg.Connection, chain_id: int, g: DecodedLog) -> None:
        a, q, block = g.args, self.q, g.block_number
        if g.contract == AUCTION:
            auction = str(a["auction_id"])
            if g.event == "AuctionCreated":
                await conn.execute(
                    q.auction_created,
                    chain_id,
                    auction,
                    a["seller"],
                    str(a["reserve"]),
                    a["end_time"],
                    a["fee_bps"],
                    a["metadata"],
                    block,
                    a.get("_raw", {}).get("metadata"),
                )
            elif g.event == "AuctionExtended":
                await conn.execute(q.auction_extended, chain_id, auction, a["new_end_time"], block)
            elif g.event == "AuctionEnded":
                pass_id = str(a["pass_id"]) if a["pass_id"] else None
                await conn.execute(
                    q.auction_ended, chain_id, auction, or_none(a["winner"]), str(a["fee"]), pass_id, block
                )
            elif g.event == "AuctionCancelled":
                await conn.execute(q.auction_cancelled, chain_id, auction, block)
        elif g.contract == PASS:
            if g.event == "PassMinted":
                await conn.execute(
                    q.pass_minted, chain_id, str(a["token_id"]), str(a["auction_id"]), a["holder"], block
                )
            elif g.event == "Transfer":
                await conn.execute(q.pass_moved, chain_id, str(a["token_id"]), or_none(a["receiver"]), block)
            elif g.event == "PassRedeemed":
                await conn.execute(q.pass_redeemed, chain_id, str(a["token_id"]), block)

    # ----------------------------------------------------------------- revert
    async def revert_after(self, conn: asyncpg.Connection, chain_id: int, block: int) -> None:
        """Undo everything above ``block``; must run before the raw events above it are deleted."""
        if not self.contracts:
            return
        auctions = await conn.fetchval(self.q.auction_keys_after, chain_id, block)
        passes = await conn.fetchval(self.q.pass_keys_after, chain_id, block)
        for table in APPEND_ONLY:
            await conn.execute(self.q[f"delete_{table}_after"], chain_id, block)
        if auctions:
            await conn.execute(self.q.delete_auctions, chain_id, auctions)
            await self._reapply(conn, chain_id, await conn.fetch(self.q.auction_events_upto, chain_id, auctions, block))
        if passes:
            await conn.execute(self.q.delete_passes, chain_id, passes)
            await self._reapply(conn, chain_id, await conn.fetch(self.q.pass_events_upto, chain_id, passes, block))

    async def _reapply(self, conn: asyncpg.Connection, chain_id: int, rows: list[asyncpg.Record]) -> None:
        """Re-run the state events (bids rows at or below the ancestor were kept, not re-inserted)."""
        await self._run_steps(conn, chain_id, state_steps(stored_logs(rows)))

    async def reset(self, conn: asyncpg.Connection, chain_id: int) -> None:
        for table in (*APPEND_ONLY, "auctions", "meeting_passes"):
            await conn.execute(self.q[f"reset_chain_{table}"], chain_id)
