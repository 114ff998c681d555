"""The request queue's contract: the one way any process puts a transaction request into ``tx_requests``.

``enqueue(conn, TxRequest(kind, key, payload))`` runs on the caller's connection, so it joins the
caller's transaction: the request exists exactly when the caller's own writes commit. The payload is
validated (and canonicalised) by its kind; a key seen before is not inserted again, and the result
says whether the stored request is the same one (``matches``) so each producer decides what a
reused key means to it. The relayer owns the table (``core/ownership.py``) and moves requests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from core.db.queries import Queries
from core.errors import InvalidInput
from core.logging import current_request_id
from core.queue.kinds import (
    KINDS,
    MAX_ACCRUALS,
    MAX_BATCH,
    Kind,
    accrue_key,
    burn_pass_key,
    end_auction_key,
    mint_key,
    settle_key,
    withdraw_for_key,
)

QUERIES = Queries(Path(__file__).with_name("queries.sql"))

__all__ = [
    "KINDS",
    "MAX_ACCRUALS",
    "MAX_BATCH",
    "Enqueued",
    "Kind",
    "TxRequest",
    "accrue_key",
    "burn_pass_key",
    "cancel_pending",
    "end_auction_key",
    "enqueue",
    "mint_key",
    "settle_key",
    "validate",
    "withdraw_for_key",
]


@dataclass(frozen=True)
class TxRequest:
    kind: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Enqueued:
    id: int
    new: bool
    matches: bool  # the stored request has this kind and (validated) payload


def validate(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The canonical payload of a request of ``kind``; :class:`InvalidInput` if it is not one."""
    known = KINDS.get(kind)
    if known is None:
        raise InvalidInput(f"unknown request kind {kind!r}")
    return known.validate(payload)


async def enqueue(conn: asyncpg.Connection, request: TxRequest) -> Enqueued:
    """Insert the request once per idempotency key, on the caller's connection (and transaction).

    It carries the request id bound in the logging context (the API request causing it), if any."""
    payload = validate(request.kind, request.payload)
    new_id = await conn.fetchval(QUERIES.enqueue, request.kind, request.key, payload, current_request_id())
    if new_id is not None:
        return Enqueued(id=int(new_id), new=True, matches=True)
    row = await conn.fetchrow(QUERIES.get_by_key, request.key)
    same = row["kind"] == request.kind and row["payload"] == payload
    return Enqueued(id=int(row["id"]), new=False, matches=same)


async def cancel_pending(conn: asyncpg.Connection, key: str, reason: str) -> int | None:
    """Cancel the request of ``key`` if the relayer has not claimed it yet; its id, or None."""
    value = await conn.fetchval(QUERIES.cancel_pending, key, reason)
    return None if value is None else int(value)
