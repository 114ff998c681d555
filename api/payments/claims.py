"""Coins before a wallet: a paid coin package of an account without a wallet waits unclaimed, and its
mint goes to the first wallet the account links — once, under the payment's ``payment_ref`` (the
relayer's mint idempotency key).

Two paths can meet: the payment path (webhook or refund, holding the payment row) and the link path
(holding the new wallet). The user row orders them: the link takes it FOR UPDATE and claims the
waiting payments nobody else holds (SKIP LOCKED, so no lock cycle); the payment path takes it FOR
SHARE after its own change and claims its payment if a wallet is linked by then. Whichever commits
second sees the other's writes, so a waiting payment never outlives a linked wallet.
"""

from __future__ import annotations

import asyncpg

from api.payments import QUERIES
from core.queue import TxRequest, enqueue, mint_key


async def _claim(conn: asyncpg.Connection, user_id: int, wallet: str) -> int:
    claimed = await conn.fetch(QUERIES.claim_waiting, user_id, wallet)
    for row in claimed:
        ref = row["payment_ref"]
        mint = {"to": wallet, "amount": row["total"], "payment_ref": ref}
        await enqueue(conn, TxRequest("mint", mint_key(ref), mint))
    return len(claimed)


async def claim_on_link(conn: asyncpg.Connection, user_id: int, wallet: str) -> int:
    """In the transaction linking ``wallet`` to ``user_id``: send the account's waiting coins there."""
    await conn.execute(QUERIES.lock_user_for_link, user_id)
    return await _claim(conn, user_id, wallet)


async def claim_if_linked(conn: asyncpg.Connection, user_id: int) -> int:
    """In a payment transaction that left coins waiting: claim them if a wallet is linked (by now)."""
    await conn.execute(QUERIES.lock_user_for_claim, user_id)
    wallet = await conn.fetchval(QUERIES.first_wallet, user_id)
    return 0 if wallet is None else await _claim(conn, user_id, wallet)
