"""Request and response models of subscriptions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model
from api.strict import StrictInt

PLAN_ID = r"^[a-z0-9_-]{1,64}$"
PRICE_ID = r"^price_[A-Za-z0-9_]{1,120}$"
Status = Literal[
    "none", "incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"
]


class Plan(Model):
    id: str
    name: str
    monthly_credits: int = Field(description="credits granted with each paid period")
    price_cents: int = Field(description="the price per month, as shown (Stripe charges its Price's amount)")
    currency: str


class Plans(Model):
    plans: list[Plan]


class AdminPlan(Plan):
    stripe_price_id: str
    active: bool
    position: int


class AdminPlans(Model):
    plans: list[AdminPlan]


class PlanBody(Model):
    """A plan as the admin sets it (created if new); a plan made inactive keeps its subscribers."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    stripe_price_id: str = Field(pattern=PRICE_ID, description="a recurring Price in the Stripe account")
    monthly_credits: StrictInt = Field(ge=1, le=10**9)
    price_cents: StrictInt = Field(ge=0, le=10**8)
    currency: str = Field("usd", pattern=r"^[a-z]{3}$")
    active: bool = True
    position: StrictInt = Field(0, ge=0, le=10**6)


class PlanChoice(Model):
    plan_id: str = Field(pattern=PLAN_ID)


class SubscriptionCheckout(Model):
    session_id: str
    checkout_url: str = Field(description="send the buyer here; the subscription starts when Stripe tells it paid")
    plan: Plan
    status: Literal["open"]


class PaidInvoice(Model):
    invoice_id: str
    plan_id: str | None
    billing_reason: str | None
    credits: int = Field(description="granted into the credits ledger")
    amount_paid: int | None
    currency: str | None
    period_end: str | None
    created_at: str | None


class SubscriptionStatus(Model):
    status: Status = Field(description="Stripe's status of your subscription; 'none' if you never had one")
    plan: Plan | None
    subscription_id: str | None
    current_period_end: str | None
    cancel_at_period_end: bool
    ended_at: str | None
    invoices: list[PaidInvoice] = Field(description="your latest paid invoices and the credits each granted")
