"""Live-feed events from the auction and tipping contracts' raw events (``chain_events`` rows).

``bid`` (auction_id, bidder, amount, previous_bidder, previous_amount, seller),
``auction_created`` (auction_id, seller, reserve, end_time, metadata),
``auction_extended`` (auction_id, end_time, seller),
``auction_ended`` (auction_id, winner, amount, fee, pass_id, seller),
``auction_cancelled`` (auction_id, seller),
``intent_settled`` (digest, from, to, token, token_name, amount, kind, fee),
``intent_rejected`` (digest, reason),
``withdrawal`` (creator, token, token_name, amount);
each with block, log_index and tx_hash. Amounts are decimal strings (uint256).
"""

from __future__ import annotations

import json
from typing import Any

ZERO = "0x" + "0" * 40
AUCTION, ROUTER = "MeetingAuction", "TipRouter"
CONTRACTS = [AUCTION, ROUTER]
EVENTS = ["BidPlaced", "AuctionCreated", "AuctionExtended", "AuctionEnded", "AuctionCancelled",
          "IntentSettled", "IntentRejected", "Withdrawn"]  # fmt: skip
# The fields of an event that name an account: a client following ``?account=`` gets the event.
ACCOUNT_FIELDS = ("account", "from", "to", "bidder", "previous_bidder", "seller", "winner", "creator")


def _address(value: Any) -> str | None:
    text = str(value).lower()
    return None if text == ZERO else text


def _args(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str | bytes) else dict(raw)


def auction_ids(rows: list[Any]) -> list[int]:
    return sorted({int(_args(r["args"])["auction_id"]) for r in rows if r["contract"] == AUCTION})


def contract_event(row: Any, tokens: dict[str, str], sellers: dict[int, str]) -> dict[str, Any] | None:
    """The feed event for one ``chain_events`` row (None for an event the feed does not announce)."""
    a, event = _args(row["args"]), row["event"]
    head = {"block": row["block_number"], "log_index": row["log_index"], "tx_hash": row["tx_hash"]}
    if row["contract"] == AUCTION:
        auction = int(a["auction_id"])
        common = {**head, "auction_id": str(auction), "seller": sellers.get(auction)}
        if event == "BidPlaced":
            return {"type": "bid", **common, "bidder": _address(a["bidder"]), "amount": str(a["amount"]),
                    "previous_bidder": _address(a["previous_bidder"]),
                    "previous_amount": str(a["previous_amount"])}  # fmt: skip
        if event == "AuctionCreated":
            return {"type": "auction_created", **common, "seller": _address(a["seller"]), "reserve": str(a["reserve"]),
                    "end_time": int(a["end_time"]), "metadata": a["metadata"]}  # fmt: skip
        if event == "AuctionExtended":
            return {"type": "auction_extended", **common, "end_time": int(a["new_end_time"])}
        if event == "AuctionEnded":
            pass_id = int(a["pass_id"])
            return {"type": "auction_ended", **common, "winner": _address(a["winner"]), "amount": str(a["amount"]),
                    "fee": str(a["fee"]), "pass_id": str(pass_id) if pass_id else None}  # fmt: skip
        if event == "AuctionCancelled":
            return {"type": "auction_cancelled", **common}
    elif row["contract"] == ROUTER:
        if event == "IntentSettled":
            token = str(a["token"]).lower()
            return {"type": "intent_settled", **head, "digest": a["digest"], "from": _address(a["from_"]),
                    "to": _address(a["to"]), "token": token, "token_name": tokens.get(token),
                    "amount": str(a["amount"]), "kind": int(a["kind"]), "fee": str(a["fee"])}  # fmt: skip
        if event == "IntentRejected":
            return {"type": "intent_rejected", **head, "digest": a["digest"], "reason": int(a["reason"])}
        if event == "Withdrawn":
            token = str(a["token"]).lower()
            return {"type": "withdrawal", **head, "creator": _address(a["creator"]), "token": token,
                    "token_name": tokens.get(token), "amount": str(a["amount"])}  # fmt: skip
    return None
