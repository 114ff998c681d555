"""Request and response models (pydantic), documented through :mod:`api.openapi`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model
from api.strict import QueryInt

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
BYTES32 = r"^0x[0-9a-fA-F]{64}$"
EMAIL = r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,190}\.[^@\s\x00-\x1f.]{1,63}$"
CURSOR = r"^[A-Za-z0-9_-]{1,200}$"
FEED_CURSOR = r"^[0-9]{1,20}-[0-9]{1,20}$"
Role = Literal["user", "creator", "admin"]


# ------------------------------------------------------------------ ops
class Health(Model):
    status: str


class Ready(Model):
    status: str
    checks: dict[str, dict[str, bool | float | str]]


# ------------------------------------------------------------------ reads
class IndexedBlock(Model):
    number: int
    hash: str


class TokenBalance(Model):
    token: str
    address: str
    balance: str = Field(description="base units, decimal string")
    updated_block: int | None


class BalancesData(Model):
    address: str
    balances: list[TokenBalance]
    indexed_block: IndexedBlock | None


class Earning(Model):
    token: str
    token_name: str | None
    amount: str = Field(description="owed by the TipRouter (net tips minus withdrawals), base units")


class WalletBalances(Model):
    address: str
    balances: list[TokenBalance]
    earnings: list[Earning] = Field(default_factory=list, description="creator earnings held by the TipRouter")


class MyBalancesData(Model):
    wallets: list[WalletBalances]
    indexed_block: IndexedBlock | None


class Mint(Model):
    payment_ref: str
    token: str
    account: str
    amount: str
    tx_hash: str
    block_number: int


class MintData(Model):
    mint: Mint
    indexed_block: IndexedBlock | None


class MintsPage(Model):
    items: list[Mint]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class Transfer(Model):
    block_number: int
    log_index: int
    token: str
    token_name: str | None
    sender: str
    receiver: str
    amount: str
    tx_hash: str
    direction: Literal["in", "out", "self"]


class TransfersPage(Model):
    items: list[Transfer]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class ReadQuery(Model):
    min_block: QueryInt | None = Field(
        None, ge=0, le=2**62, description="wait (<= API_MIN_BLOCK_TIMEOUT s) for this block to be indexed, else 409"
    )


class PageQuery(ReadQuery):
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=CURSOR, description="next_cursor of the previous page")


class AccountPageQuery(PageQuery):
    account: str = Field(pattern=ADDRESS)


# ------------------------------------------------------------------ auctions, passes, withdrawals
UINT = "base units, decimal string"


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


class MeetingPass(Model):
    token_id: str
    auction_id: str
    owner: str | None
    redeemed: bool
    minted_block: int
    updated_block: int


class PassesPage(Model):
    items: list[MeetingPass]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class Withdrawal(Model):
    block_number: int
    log_index: int
    creator: str
    token: str
    token_name: str | None
    amount: str = Field(description=UINT)
    tx_hash: str


class WithdrawalsPage(Model):
    items: list[Withdrawal]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


# ------------------------------------------------------------------ auth
class Credentials(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=8, max_length=256)


class LoginBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class User(Model):
    id: int
    email: str | None
    email_verified: bool
    role: Role
    wallets: list[str]
    created_at: str


class Tokens(Model):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    user: User


class RefreshBody(Model):
    refresh_token: str = Field(pattern=r"^[A-Za-z0-9_-]{20,128}$")


class Done(Model):
    done: bool


class SiweNonce(Model):
    nonce: str
    expires_in: int
    domain: str
    chain_id: int


class SiweVerifyBody(Model):
    message: str = Field(min_length=1, max_length=4096, description="the EIP-4361 message as signed")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class EmailBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)


class OtpBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    otp: str = Field(pattern=r"^[0-9]{6}$")


class ResetPasswordBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    otp: str = Field(pattern=r"^[0-9]{6}$")
    password: str = Field(min_length=8, max_length=256)


class RoleBody(Model):
    role: Role


# ------------------------------------------------------------------ feed
class FeedQuery(Model):
    cursor: str | None = Field(None, pattern=FEED_CURSOR, description="resume after this event id")
    account: str | None = Field(None, pattern=ADDRESS, description="only this account's changes (and reorgs)")
