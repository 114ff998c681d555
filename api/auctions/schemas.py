"""Auctions and their bids as indexed: request and response models (pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model
from api.schemas import UINT, IndexedBlock


class Auction(Model):
    auction_id: str = Field(description="uint256, decimal string")
    seller: str
    reserve: str = Field(description=UINT)
    end_time: int = Field(description="unix seconds (chain time); anti-sniping bids extend it")
    fee_bps: int
    metadata: str = Field(description="as text; invalid UTF-8 and NUL replaced by U+FFFD (see metadata_hex)")
    metadata_hex: str | None = Field(
        description="the metadata's original bytes (0x hex) when `metadata` had to be altered"
    )
    status: Literal["active", "ended", "cancelled"]
    highest_bidder: str | None
    highest_bid: str = Field(description=UINT)
    bid_count: int
    winner: str | None
    fee: str | None = Field(description=UINT)
    pass_id: str | None = Field(description="the MeetingPass token id minted to the winner")
    created_block: int
    updated_block: int


class Bid(Model):
    block_number: int
    log_index: int
    bidder: str
    amount: str = Field(description=UINT)
    previous_bidder: str | None
    previous_amount: str | None = Field(description=UINT)
    tx_hash: str


class AuctionsPage(Model):
    items: list[Auction]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class OpenAuctionsPage(AuctionsPage):
    as_of: int | None = Field(description="chain time of the indexed block: auctions ending after it are open")


class AuctionDetail(Model):
    auction: Auction
    bids: list[Bid] = Field(description="newest first, at most 100 (bid_count has the total)")
    indexed_block: IndexedBlock | None
