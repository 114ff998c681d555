"""The tipping and meeting-auction contracts' rows of a batch, computed without the database.

Append-only facts (intent outcomes, withdrawals, treasury changes, accruals, bids) become COPY-ready
records; auction and meeting-pass events become state steps, applied in log order by
``indexer/contract_projections.py`` (which also rolls them back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexer.decode import ZERO_ADDRESS, DecodedLog

AUCTION, PASS, ROUTER, ENGAGEMENT = "MeetingAuction", "MeetingPass", "TipRouter", "Engagement"
STATE_EVENTS = {
    AUCTION: ("AuctionCreated", "BidPlaced", "AuctionExtended", "AuctionEnded", "AuctionCancelled"),
    PASS: ("PassMinted", "Transfer", "PassRedeemed"),
}
APPEND_ONLY = ("intent_outcomes", "withdrawals", "router_treasuries", "accruals", "bids")
PROJECTED = frozenset({AUCTION, PASS, ROUTER, ENGAGEMENT})  # the contracts with projections of their own

Bids = dict[str, tuple[str, str, int, int]]  # auction -> (last bidder, last amount, block, count)
Step = Bids | DecodedLog  # a run of bids folded into one statement, or one other state event


def or_none(address: str) -> str | None:
    return None if address == ZERO_ADDRESS else address


@dataclass(frozen=True)
class ContractRows:
    rows: dict[str, list[tuple[Any, ...]]]  # append-only table -> rows
    steps: list[Step]  # state changes, in log order
    texts: dict[str, bytes] = field(default_factory=dict)  # append-only table -> its rows as COPY text, once encoded


def state_steps(logs: list[DecodedLog]) -> list[Step]:
    """State events in log order; a run of bids is folded (the last bid per auction wins)."""
    steps: list[Step] = []
    bids: Bids = {}
    for g in logs:
        if g.contract == AUCTION and g.event == "BidPlaced":
            auction = str(g.args["auction_id"])
            count = bids[auction][3] + 1 if auction in bids else 1
            bids[auction] = (g.args["bidder"], str(g.args["amount"]), g.block_number, count)
            continue
        if bids:
            steps.append(bids)
            bids = {}
        steps.append(g)
    if bids:
        steps.append(bids)
    return steps


def contract_rows(chain_id: int, contracts: frozenset[str], logs: list[DecodedLog]) -> ContractRows:
    """The batch's append-only rows and state steps for ``contracts`` (a subset of ``PROJECTED``)."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in APPEND_ONLY}
    stateful: list[DecodedLog] = []
    for g in logs:
        if g.contract not in contracts:
            continue
        a, head = g.args, (chain_id, g.block_number, g.log_index)
        if g.contract == ROUTER:
            if g.event == "IntentSettled":
                rows["intent_outcomes"].append(
                    (
                        *head,
                        a["digest"],
                        "settled",
                        a["from_"],
                        a["to"],
                        a["token"],
                        a["amount"],
                        a["kind"],
                        a["fee"],
                        None,
                        g.tx_hash,
                    )
                )
            elif g.event == "IntentRejected":
                rows["intent_outcomes"].append(
                    (*head, a["digest"], "rejected", None, None, None, None, None, None, a["reason"], g.tx_hash)
                )
            elif g.event == "Withdrawn":
                rows["withdrawals"].append((*head, a["creator"], a["token"], a["amount"], g.tx_hash))
            elif g.event == "TreasuryUpdated":
                rows["router_treasuries"].append((*head, a["new_treasury"]))
        elif g.contract == ENGAGEMENT and g.event == "Accrued":
            rows["accruals"].append((*head, a["epoch"], a["account"], a["amount"], g.tx_hash))
        elif g.contract == AUCTION and g.event == "BidPlaced":
            rows["bids"].append(
                (
                    *head,
                    a["auction_id"],
                    a["bidder"],
                    a["amount"],
                    or_none(a["previous_bidder"]),
                    a["previous_amount"],
                    g.tx_hash,
                )
            )
            stateful.append(g)
        elif g.event in STATE_EVENTS.get(g.contract, ()):
            stateful.append(g)
    return ContractRows({table: records for table, records in rows.items() if records}, state_steps(stateful))
