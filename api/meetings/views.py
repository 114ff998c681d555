"""How a meeting row reads: its derived status, its participants, its JSON view, and who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

IN_FLIGHT = frozenset({"pending", "submitted", "confirmed"})  # a burn request not (yet) failed
Result = dict[str, Any]


@dataclass(frozen=True)
class Caller:
    user_id: int
    wallets: list[str]


def status_of(row: asyncpg.Record) -> str:
    if not row["standing"]:
        return "void"
    if row["closed_at"] is not None:
        return "closed"
    if row["ends_at"] <= row["now"]:
        return "expired"
    if row["redeemed_by"] is not None:
        return "open"
    if row["burn_status"] in IN_FLIGHT:
        return "redeeming"
    return "scheduled"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def participants(row: asyncpg.Record) -> set[str]:
    return {w for w in (row["seller"], row["winner"], row["burn_holder"], row["pass_owner"], row["redeemed_by"]) if w}


def meeting_dict(row: asyncpg.Record, wallets: list[str]) -> Result:
    mine = set(wallets)
    role = "seller" if row["seller"] in mine else "winner" if row["winner"] in mine else "holder"
    admitted = row["seller"] in mine or row["redeemed_by"] in mine
    burn = None
    if row["burn_request_id"] is not None:
        burn = {
            "request_id": row["burn_request_id"],
            "status": row["burn_status"],
            "holder": row["burn_holder"],
            "tx_hash": row["burn_tx"],
            "error": row["burn_error"],
        }
    return {
        "id": row["id"],
        "auction_id": row["auction_id"],
        "seller": row["seller"],
        "winner": row["winner"],
        "pass_id": row["pass_id"],
        "status": status_of(row),
        "role": role,
        "room": row["room"] if admitted else None,  # unguessable: shown to the host and the admitted holder only
        "starts_at": _iso(row["starts_at"]),
        "ends_at": _iso(row["ends_at"]),
        "closed_at": _iso(row["closed_at"]),
        "pass_owner": row["pass_owner"],
        "redeemed_by": row["redeemed_by"],
        "redeemed_block": row["redeemed_block"],
        "burn": burn,
        "created_at": _iso(row["created_at"]),
    }
