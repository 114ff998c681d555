"""Request and response models of payments, discount codes, account flags and credits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, field_validator, model_validator

from api.openapi import Model
from api.schemas import ADDRESS, CURSOR, IndexedBlock
from api.strict import QueryInt, StrictInt

PACKAGE_ID = r"^[a-z0-9_-]{1,64}$"
CODE = r"^[A-Za-z0-9_-]{3,32}$"
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_.:-]{8,128}$"
FEATURE = r"^[a-z0-9_.:-]{1,64}$"
REFERENCE = r"^[\x21-\x7e]{1,128}$"
MAX_CREDITS = 10**9
PackageKind = Literal["coins", "credits"]


class ListQuery(Model):
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=CURSOR, description="next_cursor of the previous page")


# ------------------------------------------------------------------ payments
class Package(Model):
    id: str
    kind: PackageKind
    name: str
    amount: str = Field(description="Coin base units (18 decimals) or whole credits, decimal string")
    price_cents: int
    currency: str


class Packages(Model):
    packages: list[Package]


class CheckoutBody(Model):
    package_id: str = Field(pattern=PACKAGE_ID)
    discount_code: str | None = Field(None, pattern=CODE)
    wallet: str | None = Field(
        None, pattern=ADDRESS, description="coins: one of your linked wallets (default: the first)"
    )


class Checkout(Model):
    payment_id: int
    status: Literal["pending"]
    session_id: str
    checkout_url: str
    payment_ref: str = Field(description="bytes32 the Coin mint will carry (derived from the session id)")
    package_id: str
    kind: PackageKind
    wallet: str | None
    currency: str
    discount_code: str | None
    price_cents: int
    discount_cents: int
    charged_cents: int
    amount: str
    bonus: str


class StripeEvent(Model):
    """A Stripe event as Stripe posts it (verified against the Stripe-Signature header)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    type: str
    data: dict[str, Any]


class WebhookReceived(Model):
    received: bool
    duplicate: bool
    outcome: str


PaymentStatus = Literal["pending", "paid", "minted", "partially_refunded", "refunded", "disputed", "expired", "failed"]


class Payment(Model):
    id: int
    package_id: str
    kind: PackageKind
    status: PaymentStatus
    amount: str
    bonus: str
    price_cents: int
    discount_cents: int
    charged_cents: int
    refunded_cents: int
    currency: str
    wallet: str | None
    claim_status: Literal["waiting", "claimed", "cancelled"] | None = Field(
        description="coins bought before a wallet: waiting for the first linked wallet, claimed, or cancelled"
    )
    payment_ref: str | None
    session_id: str | None
    checkout_url: str | None
    discount_code: str | None
    mint_request_status: str | None = Field(description="the relayer's request status (coins)")
    mint_tx_hash: str | None = Field(description="the indexed Minted event's transaction")
    mint_block: int | None
    created_at: str
    paid_at: str | None


class UnclaimedCoins(Model):
    id: int = Field(description="the payment")
    package_id: str
    status: PaymentStatus
    amount: str = Field(description="Coin base units (package and bonus) minted at the claim")
    payment_ref: str
    paid_at: str | None


class Unclaimed(Model):
    items: list[UnclaimedCoins]
    total: str = Field(description="all waiting coins, base units")


class PaymentsPage(Model):
    items: list[Payment]
    next_cursor: str | None
    indexed_block: IndexedBlock | None


# ------------------------------------------------------------------ discount codes
class DiscountValidateBody(Model):
    code: str = Field(pattern=CODE)
    package_id: str = Field(pattern=PACKAGE_ID)


class DiscountCode(Model):
    id: int
    code: str
    kind: Literal["percent_off", "bonus"]
    percent: int
    package_kind: PackageKind | None
    valid_from: str
    valid_until: str | None
    max_redemptions: int | None
    max_per_user: int
    redemptions: int
    owner_user_id: int | None
    active: bool
    created_at: str


class DiscountQuote(Model):
    code: DiscountCode
    package_id: str
    price_cents: int
    discount_cents: int
    charged_cents: int
    amount: str
    bonus: str


class DiscountCodes(Model):
    items: list[DiscountCode]
    next_cursor: str | None


def _bounded(value: datetime | None) -> datetime | None:
    if value is not None and not 2000 <= value.year <= 2200:
        raise ValueError("the date must be between the years 2000 and 2200")
    return value


class DiscountCreateBody(Model):
    code: str = Field(pattern=CODE)
    kind: Literal["percent_off", "bonus"]
    percent: StrictInt = Field(ge=1, le=1000, description="percent off (1..95) or bonus percent (1..1000)")
    package_kind: PackageKind | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    max_redemptions: StrictInt | None = Field(None, ge=1, le=10**9)
    max_per_user: StrictInt = Field(1, ge=1, le=10**6)

    _dates = field_validator("valid_from", "valid_until")(_bounded)

    @model_validator(mode="after")
    def _coherent(self) -> DiscountCreateBody:
        if self.kind == "percent_off" and self.percent > 95:
            raise ValueError("percent_off is at most 95")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


# ------------------------------------------------------------------ account flags
class Flag(Model):
    id: int
    user_id: int
    email: str | None = None
    payment_id: int | None
    reason: Literal["refund", "dispute"]
    details: dict[str, Any]
    created_at: str
    cleared_at: str | None
    cleared_note: str | None


class ClearFlagBody(Model):
    note: str = Field(min_length=1, max_length=500, description="why the flag is cleared (kept with it)")


class FlagsQuery(ListQuery):
    include_cleared: bool = False


class FlagsPage(Model):
    items: list[Flag]
    next_cursor: str | None


# ------------------------------------------------------------------ credits
class CreditBalance(Model):
    available: int
    held: int


class SpendBody(Model):
    feature: str = Field(
        pattern=FEATURE, description="what the credits pay for, e.g. chat.flash (GET /api/credits/prices)"
    )
    quantity: StrictInt = Field(1, ge=1, le=1000, description="how many units; the server prices them")
    reference: str | None = Field(None, pattern=REFERENCE, description="your job id")
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY, description="the same key gives the same result once")


class ReserveBody(SpendBody):
    ttl: StrictInt | None = Field(
        None, ge=10, le=7 * 86400, description="seconds before an uncommitted hold is released"
    )


class CommitBody(Model):
    usage_id: StrictInt = Field(ge=1, le=2**62)
    quantity: StrictInt | None = Field(
        None, ge=0, le=1000, description="units used, priced by the server (default: all reserved)"
    )
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class ReleaseBody(Model):
    usage_id: StrictInt = Field(ge=1, le=2**62)
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class Usage(Model):
    id: int
    user_id: int
    feature: str
    reference: str | None
    reserved: int
    charged: int
    status: Literal["held", "committed", "released"]
    expires_at: str | None
    created_at: str
    updated_at: str


class CreditResult(Model):
    transaction_id: int
    kind: str
    amount: int
    balance: CreditBalance
    usage: Usage | None
    replayed: bool
    created_at: str


class CreditHistoryItem(Model):
    id: int
    kind: str
    amount: int
    usage_id: int | None
    payment_id: int | None
    memo: str | None
    available_change: int
    held_change: int
    created_at: str


class CreditHistory(Model):
    items: list[CreditHistoryItem]
    next_cursor: str | None


class UsagePage(Model):
    items: list[Usage]
    next_cursor: str | None


class UnitPrice(Model):
    feature: str
    unit_price: int


class VideoPrice(Model):
    feature: str
    quality: str
    duration: int
    price: int


class PriceList(Model):
    features: list[UnitPrice]
    video: list[VideoPrice]


class FeatureUsage(Model):
    feature: str
    uses: int
    charged: int
    held: int


class FeatureUsageSummary(Model):
    items: list[FeatureUsage]


class GrantBody(Model):
    user_id: StrictInt = Field(ge=1, le=2**62)
    amount: StrictInt = Field(ge=1, le=MAX_CREDITS)
    reason: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)
