"""Request and response models of tips (claps, gifts, withdrawals) and creators."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.openapi import Model
from api.schemas import ADDRESS, IndexedBlock, PageQuery
from api.strict import Uint256

SIGNATURE = r"^0x[0-9a-fA-F]{130}$"
IntentStatus = Literal["pending", "approved", "refused", "submitted", "settled", "rejected", "failed"]


# ------------------------------------------------------------------ tips
class GiftPermit(Model):
    """The fan's EIP-2612 permit of the Coin (TK) for the TipRouter: a gift without an on-chain approve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Uint256 = Field(description="the allowance granted to the router (base units, >= the gift's amount)")
    nonce: Uint256 = Field(description="the fan's Coin.nonces(from) the permit was signed for")
    deadline: Uint256 = Field(description="unix seconds, in the future")
    signature: str = Field(
        pattern=SIGNATURE,
        description="65-byte EIP-712 signature by `from` of Permit(owner, spender, value, nonce, "
        "deadline) in the Coin's domain, spender = the TipRouter",
    )


class IntentBody(Model):
    """The signed EIP-712 Intent (the kind comes from the route: clap 0, gift 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from", pattern=ADDRESS, description="the fan (signer)")
    to: str = Field(pattern=ADDRESS, description="a creator's wallet")
    token: str = Field(pattern=ADDRESS, description="Engagement (TKI) for a clap, Coin (TK) for a gift")
    amount: Uint256 = Field(description="base units, decimal string, > 0")
    nonce: Uint256 = Field(description="any unused uint256 of the fan (decimal string)")
    deadline: Uint256 = Field(description="unix seconds, in the future (decimal string)")
    signature: str = Field(pattern=SIGNATURE, description="65-byte EIP-712 signature by `from`")
    permit: GiftPermit | None = Field(
        None, description="gifts only: a Coin permit, so a fan without ETH (and without an approve) can gift"
    )


class TipIntent(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    digest: str = Field(description="the EIP-712 digest (TipRouter.intent_digest), the id of the intent")
    kind: Literal["clap", "gift"]
    from_: str = Field(alias="from")
    to: str
    token: str
    token_name: str | None
    amount: str
    nonce: str
    deadline: str
    status: IntentStatus = Field(
        description="pending → approved | refused → submitted → settled | rejected (on chain) | failed (the "
        "settle transaction could not be sent)"
    )
    reason: str | None = Field(description="why it was refused, rejected on chain, or failed")
    tx_request_id: int | None
    tx_hash: str | None
    block_number: int | None
    fee: str | None = Field(description="the platform fee taken on settlement (base units)")
    gasless: bool = Field(description="a gift carrying the fan's Coin permit (settled with settle_with_permits)")
    created_at: str


class IntentData(Model):
    intent: TipIntent
    indexed_block: IndexedBlock | None


class IntentsQuery(PageQuery):
    direction: Literal["sent", "received"] | None = Field(None, description="only intents sent or received")


class IntentsPage(Model):
    items: list[TipIntent]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


class WithdrawBody(Model):
    """The creator's signed EIP-712 Withdrawal."""

    creator: str = Field(pattern=ADDRESS)
    token: str = Field(pattern=ADDRESS)
    amount: Uint256 = Field()
    nonce: Uint256 = Field()
    deadline: Uint256 = Field()
    signature: str = Field(pattern=SIGNATURE)


class WithdrawalRequest(Model):
    id: int = Field(description="the relayer request id")
    status: Literal["pending", "submitted", "confirmed", "failed", "dead", "cancelled"]
    creator: str
    token: str
    amount: str
    nonce: str
    deadline: str
    tx_hash: str | None
    last_error: str | None
    created_at: str


class WithdrawRequestsPage(Model):
    items: list[WithdrawalRequest]
    next_cursor: str | None


# ------------------------------------------------------------------ creators
class NoBody(Model):
    """An action with nothing to say: send ``{}`` or no body."""


class ApplyBody(Model):
    display_name: str = Field(min_length=1, max_length=80)
    bio: str = Field("", max_length=2000)
    categories: list[str] = Field(default_factory=list, max_length=10)


class RejectBody(Model):
    reason: str = Field(min_length=1, max_length=500)


class CreatorApplication(Model):
    id: int
    user_id: int
    display_name: str
    bio: str
    categories: list[str]
    status: Literal["pending", "approved", "rejected"]
    reason: str | None
    created_at: str
    reviewed_at: str | None


class ApplicationsQuery(PageQuery):
    status: Literal["pending", "approved", "rejected"] = "pending"


class ApplicationsPage(Model):
    items: list[CreatorApplication]
    next_cursor: str | None


class Received(Model):
    kind: Literal["clap", "gift"]
    token: str
    token_name: str | None
    count: int
    amount: str = Field(description="gross base units received (before the fee)")
    fee: str


class CreatorEarning(Model):
    token: str
    token_name: str | None
    amount: str = Field(description="withdrawable from the TipRouter now (as indexed)")


class CreatorProfile(Model):
    id: int
    display_name: str
    bio: str
    categories: list[str]
    wallets: list[str]
    followers: int
    following: int
    followed_by_me: bool | None = Field(description="null when not signed in")
    received: list[Received]
    earnings: list[CreatorEarning]
    approved_at: str
    indexed_block: IndexedBlock | None


class CreatorSummary(Model):
    id: int
    display_name: str
    categories: list[str]
    followers: int


class CreatorsPage(Model):
    items: list[CreatorSummary]
    next_cursor: str | None


class FollowState(Model):
    creator_id: int
    following: bool
    followers: int


class BlockState(Model):
    user_id: int
    blocked: bool


class BlockedAddress(Model):
    address: str
    blocked: bool


class BlockAddressBody(Model):
    reason: str = Field("", max_length=500)


class PendingIntent(Model):
    """A pending tip intent and the approval policy's verdict now (``verdict_reason``: the refusal reason)."""

    id: int
    digest: str
    user_id: int | None
    sender: str
    receiver: str
    token: str
    amount: str
    kind: Literal["clap", "gift"]
    nonce: str
    deadline: str
    created_at: str
    verdict: Literal["approve", "refuse"]
    verdict_reason: str | None


class PendingIntentsPage(Model):
    items: list[PendingIntent]
    next_cursor: str | None


class IntentApproveBody(Model):
    note: str | None = Field(None, max_length=500)


class IntentRefuseBody(Model):
    reason: str = Field(min_length=1, max_length=500)


class ReviewedIntent(PendingIntent):
    status: Literal["approved", "refused"]
    reason: str | None
    decided_by: int
    review_note: str | None
    decided_at: str


class GiftsPending(Model):
    count: int
    amount: str


class WalletCoinBalance(Model):
    address: str
    balance: str


class CoinWallet(Model):
    """The Coin wallet: indexed on-chain balances of your linked wallets, and gifts not settled yet."""

    token: str
    balance: str
    wallets: list[WalletCoinBalance]
    pending_gifts_sent: GiftsPending
    pending_gifts_received: GiftsPending
    indexed_block: IndexedBlock | None
