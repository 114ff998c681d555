"""The API's reads of the indexed state, each in one snapshot with the block it reflects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from core.db import Queries, translate_errors
from core.db.replica import ReadRouter, current_scope

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
T = TypeVar("T")
Indexed = dict[str, Any] | None


def _indexed(row: asyncpg.Record | None) -> Indexed:
    return {"number": row["block_number"], "hash": row["block_hash"]} if row else None


def _reflects(pair: tuple[asyncpg.Record | None, object]) -> bool:
    """A read answers a ``min_block`` only from a snapshot whose checkpoint has reached it (a lagging replica's
    does not: the read is retried on the primary)."""
    scope = current_scope()
    floor = scope.min_block if scope is not None else None
    return floor is None or (pair[0] is not None and pair[0]["block_number"] >= floor)


class ApiStore:
    """``pool`` is the primary (the listener's checkpoint, writes); ``reads`` routes the indexed reads (the
    read replica when configured). Each read reports the checkpoint of the snapshot it read its rows from."""

    def __init__(self, pool: asyncpg.Pool, chain_id: int, reads: ReadRouter | None = None) -> None:
        self.pool = pool
        self.reads = reads or ReadRouter(pool)
        self.chain_id = chain_id
        self.q = QUERIES

    async def indexed_block(self) -> Indexed:
        return (await self.checkpoint())[0]

    async def checkpoint(self) -> tuple[Indexed, int | None]:
        """The primary's checkpoint and the primary's WAL position read after it: a replica that has replayed
        that far reflects at least this checkpoint."""
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.indexed_block_lsn, self.chain_id)
        return _indexed(row), (row["lsn"] if row else None)

    async def read(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> tuple[Indexed, T]:
        """Run ``fn`` and read the checkpoint in one read-only snapshot: the pair is consistent."""

        async def both(conn: asyncpg.Connection) -> tuple[asyncpg.Record | None, T]:
            return await conn.fetchrow(self.q.indexed_block, self.chain_id), await fn(conn)

        async with translate_errors():
            block, result = await self.reads.run(both, snapshot=True, accept=_reflects)
        return _indexed(block), result

    async def read_table(
        self, table: str, fn: Callable[[asyncpg.Connection], Awaitable[T]]
    ) -> tuple[Indexed, T] | None:
        """Like :meth:`read`, with ``table`` (a quoted, qualified name) locked before the snapshot is taken.

        A configured table is rebuilt beside and swapped in with its registration (README
        "Upgrading projections"); locked first, the table and its registry row are read both from
        before the swap or both from after it. None when there is no such table.
        """

        async def locked(conn: asyncpg.Connection) -> tuple[asyncpg.Record | None, T] | None:
            try:
                async with conn.transaction():  # a savepoint: a missing table leaves the transaction usable
                    await conn.execute(f"LOCK TABLE {table} IN ACCESS SHARE MODE")  # a standby allows this mode
            except asyncpg.UndefinedTableError:
                return None
            return await conn.fetchrow(self.q.indexed_block, self.chain_id), await fn(conn)

        def reflects(pair: tuple[asyncpg.Record | None, T] | None) -> bool:
            return pair is None or _reflects(pair)

        async with translate_errors():
            pair = await self.reads.run(locked, snapshot=True, accept=reflects)
        return None if pair is None else (_indexed(pair[0]), pair[1])

    async def balances(self, account: str) -> tuple[Indexed, dict[str, dict[str, Any]]]:
        """The indexed block and the account's balances, read in one snapshot."""
        indexed, rows = await self.read(lambda conn: conn.fetch(self.q.balances_of, self.chain_id, account))
        return indexed, {r["token"]: {"balance": r["balance"], "updated_block": r["updated_block"]} for r in rows}

    async def balances_of_many(self, accounts: list[str]) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(lambda conn: conn.fetch(self.q.balances_of_many, self.chain_id, accounts))

    async def mint(self, payment_ref: str) -> tuple[Indexed, asyncpg.Record | None]:
        return await self.read(lambda conn: conn.fetchrow(self.q.mint_by_ref, self.chain_id, payment_ref))

    async def mints_page(
        self, account: str, before: tuple[int, str], limit: int
    ) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.mints_page, self.chain_id, account, before[0], before[1], limit)
        )

    async def transfers_page(
        self, account: str, before: tuple[int, int], limit: int
    ) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.transfers_page, self.chain_id, account, before[0], before[1], limit)
        )

    # ------------------------------------------------------------------ auctions, passes, withdrawals
    async def open_auctions(
        self, after: tuple[int, int], limit: int
    ) -> tuple[Indexed, tuple[int | None, list[asyncpg.Record]]]:
        """Auctions open at the indexed block's chain time (its ``as_of``), soonest ending first."""

        async def fetch(conn: asyncpg.Connection) -> tuple[int | None, list[asyncpg.Record]]:
            as_of: int | None = await conn.fetchval(self.q.indexed_time, self.chain_id)
            if as_of is None:  # nothing indexed (or its block pruned): no chain time to compare with
                return None, []
            rows = await conn.fetch(self.q.open_auctions_page, self.chain_id, as_of, after[0], str(after[1]), limit)
            return as_of, rows

        return await self.read(fetch)

    async def auction(
        self, auction_id: int, bids: int
    ) -> tuple[Indexed, tuple[asyncpg.Record | None, list[asyncpg.Record]]]:
        async def fetch(conn: asyncpg.Connection) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
            row = await conn.fetchrow(self.q.auction_by_id, self.chain_id, str(auction_id))
            if row is None:
                return None, []
            return row, await conn.fetch(self.q.bids_of_auction, self.chain_id, str(auction_id), bids)

        return await self.read(fetch)

    async def auctions_by_seller(
        self, wallets: list[str], before: int, limit: int
    ) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.auctions_by_seller_page, self.chain_id, wallets, str(before), limit)
        )

    async def auctions_won(self, wallets: list[str], before: int, limit: int) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.auctions_won_page, self.chain_id, wallets, str(before), limit)
        )

    async def passes(self, wallets: list[str], after: int, limit: int) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(lambda conn: conn.fetch(self.q.passes_page, self.chain_id, wallets, str(after), limit))

    async def withdrawals(
        self, creator: str, before: tuple[int, int], limit: int
    ) -> tuple[Indexed, list[asyncpg.Record]]:
        return await self.read(
            lambda conn: conn.fetch(self.q.withdrawals_page, self.chain_id, creator, before[0], before[1], limit)
        )

    async def balances_and_earnings(
        self, accounts: list[str]
    ) -> tuple[Indexed, tuple[list[asyncpg.Record], list[asyncpg.Record]]]:
        """ERC-20 balances and TipRouter earnings of the accounts, in one snapshot."""

        async def fetch(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
            balances = await conn.fetch(self.q.balances_of_many, self.chain_id, accounts)
            return balances, await conn.fetch(self.q.earnings_of_many, self.chain_id, accounts)

        return await self.read(fetch)

    # ------------------------------------------------------------------ live feed
    async def transfers_between(self, after: int, upto: int, cap: int) -> list[asyncpg.Record]:
        async with translate_errors():
            rows: list[asyncpg.Record] = await self.pool.fetch(
                self.q.transfers_between, self.chain_id, after, upto, cap
            )
            return rows

    async def balances_for(self, keys: list[tuple[str, str]]) -> list[asyncpg.Record]:
        async with translate_errors():
            rows: list[asyncpg.Record] = await self.pool.fetch(
                self.q.balances_for_keys, self.chain_id, [k[0] for k in keys], [k[1] for k in keys]
            )
            return rows

    async def contract_events_between(
        self, after: int, upto: int, contracts: list[str], events: list[str], cap: int
    ) -> list[asyncpg.Record]:
        async with translate_errors():
            rows: list[asyncpg.Record] = await self.pool.fetch(
                self.q.contract_events_between, self.chain_id, after, upto, contracts, events, cap
            )
            return rows

    async def sellers(self, auction_ids: list[int]) -> dict[int, str]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.sellers_of, self.chain_id, [str(a) for a in auction_ids])
        return {int(r["auction_id"]): r["seller"] for r in rows}

    # ------------------------------------------------------------------ cleanup
    async def cleanup_expired(self, grace_s: float, batch: int) -> dict[str, int] | None:
        """Delete refresh tokens and OTPs expired ``grace_s`` ago (one batch each); None when another
        process holds the cleanup lock."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(self.q.try_cleanup_lock):
                return None
            tokens = await conn.execute(self.q.delete_expired_refresh_tokens, grace_s, batch)
            otps = await conn.execute(self.q.delete_expired_otps, grace_s, batch)
        return {"refresh_tokens": int(tokens.split()[-1]), "otps": int(otps.split()[-1])}
