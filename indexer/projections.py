"""Projections kept in the same transaction as the raw events: balances and mints.

Each projection applies a batch of decoded logs, and reverts everything after a block by
reading back the raw events it is derived from, so a reorg rollback is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import asyncpg

from core.chain.manifest import Manifest
from core.db import Queries
from core.errors import NonRetryableError
from indexer.decode import DecodedLog

ZERO = "0x" + "0" * 40


class IntegrityError(NonRetryableError):
    """The projections disagree with the raw events: a bug, never papered over."""


TRANSFER = "Transfer"
MINTED = "Minted"


def transfer_fields(abi: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """Names of (from, to, value) of an ERC-20 ``Transfer`` in this ABI, if it has one."""
    for item in abi:
        if item.get("type") == "event" and item.get("name") == TRANSFER:
            inputs = item["inputs"]
            if len(inputs) == 3 and inputs[2]["type"] == "uint256":
                return inputs[0]["name"], inputs[1]["name"], inputs[2]["name"]
    return None


class Projections:
    """Balances of every ERC-20 in the manifest; mints by payment reference."""

    reverted_events = (TRANSFER,)

    def __init__(self, queries: Queries, tokens: dict[str, tuple[str, str, str]], token_addresses: dict[str, str]):
        self.q = queries
        self.tokens = tokens  # contract name -> (from, to, value) field names
        self.token_addresses = token_addresses  # contract name -> address

    @classmethod
    def from_manifest(cls, manifest: Manifest, queries: Queries) -> Projections:
        tokens, addresses = {}, {}
        for name, contract in manifest.contracts.items():
            fields = transfer_fields(contract.abi)
            if fields:
                tokens[name] = fields
                addresses[name] = contract.address
        return cls(queries, tokens, addresses)

    def _deltas(self, transfers: Iterable[tuple[str, dict[str, Any]]], sign: int) -> dict[tuple[str, str], int]:
        deltas: dict[tuple[str, str], int] = defaultdict(int)
        for contract, args in transfers:
            src_field, dst_field, value_field = self.tokens[contract]
            value = int(args[value_field]) * sign
            token = self.token_addresses[contract]
            if args[src_field] != ZERO:
                deltas[(token, args[src_field])] -= value
            if args[dst_field] != ZERO:
                deltas[(token, args[dst_field])] += value
        return deltas

    async def _add(
        self, conn: asyncpg.Connection, chain_id: int, deltas: dict[tuple[str, str], int], block: int
    ) -> None:
        # A fixed order of row locks: no deadlock between concurrent writers.
        ups = sorted((token, account, str(delta)) for (token, account), delta in deltas.items() if delta > 0)
        downs = sorted((token, account, str(delta)) for (token, account), delta in deltas.items() if delta < 0)
        if downs:
            tokens, accounts, values = (list(col) for col in zip(*downs, strict=True))
            status = await conn.execute(self.q.subtract_balance_deltas, chain_id, tokens, accounts, values, block)
            if int(status.split()[-1]) != len(downs):
                raise IntegrityError(f"a balance to decrease is missing ({len(downs)} expected, {status})")
        if ups:
            tokens, accounts, values = (list(col) for col in zip(*ups, strict=True))
            await conn.execute(self.q.add_balance_deltas, chain_id, tokens, accounts, values, block)

    async def apply(self, conn: asyncpg.Connection, chain_id: int, logs: list[DecodedLog], block: int) -> None:
        transfers = [(log.contract, log.args) for log in logs if log.event == TRANSFER and log.contract in self.tokens]
        await self._add(conn, chain_id, self._deltas(transfers, +1), block)
        mints = [log for log in logs if log.event == MINTED]
        if mints:
            await conn.execute(
                self.q.insert_mints,
                chain_id,
                [m.args["payment_ref"] for m in mints],
                [m.address for m in mints],
                [m.args["to"] for m in mints],
                [str(m.args["amount"]) for m in mints],
                [m.tx_hash for m in mints],
                [m.block_number for m in mints],
            )

    async def revert_after(self, conn: asyncpg.Connection, chain_id: int, block: int) -> None:
        rows = await conn.fetch(self.q.events_after, chain_id, block, list(self.reverted_events))
        transfers = [(r["contract"], r["args"]) for r in rows if r["contract"] in self.tokens]
        await self._add(conn, chain_id, self._deltas(transfers, -1), block)
        await conn.execute(self.q.delete_mints_after, chain_id, block)
