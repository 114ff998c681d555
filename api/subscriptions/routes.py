"""Subscriptions: plans, a subscription-mode Checkout, status, plan change, cancel and resume; admins edit plans.

Stripe's events about them arrive at the payments webhook (``POST /api/payment/webhook``)."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body
from api.openapi import doc, path_parameter
from api.protect.ratelimit import rate_limit
from api.services import services
from api.subscriptions.schemas import (
    PLAN_ID,
    AdminPlan,
    AdminPlans,
    PlanBody,
    PlanChoice,
    Plans,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from api.subscriptions.service import Subscriptions
from api.tips.schemas import NoBody
from core.errors import InvalidInput

bp = Blueprint("subscriptions", url_prefix="/api/subscriptions")
admin_bp = Blueprint("subscriptions_admin", url_prefix="/api/admin/subscription-plans")


def _subs(request: Request) -> Subscriptions:
    ctx = services(request)
    return ctx.subscriptions


@bp.get("/plans")
@doc("Subscription plans: the monthly price and the credits each paid month grants", tag="subscriptions",
     response=Plans)  # fmt: skip
async def plans(request: Request) -> HTTPResponse:
    return ok({"plans": await _subs(request).plans()})


@bp.post("/checkout")
@doc("Start a Stripe Checkout (subscription mode) for a plan; returns the URL to pay at (409 "
     "already_subscribed if you have a running subscription: change its plan instead)", tag="subscriptions",
     body=PlanChoice, response=SubscriptionCheckout, status=201, auth=True)  # fmt: skip
@authenticated()
@rate_limit("purchase", per="user")
async def checkout(request: Request) -> HTTPResponse:
    body = parse_body(request, PlanChoice)
    return ok(await _subs(request).checkout(request.ctx.claims.user_id, body.plan_id), status=201)


@bp.get("/status")
@doc("Your subscription: plan, Stripe's status, current period end, whether it ends then, paid invoices",
     tag="subscriptions", response=SubscriptionStatus, auth=True)  # fmt: skip
@authenticated()
async def status(request: Request) -> HTTPResponse:
    return ok(await _subs(request).status(request.ctx.claims.user_id))


@bp.post("/change")
@doc("Upgrade or downgrade: the subscription moves to the plan's price now, Stripe prorates the rest of the "
     "period onto the next invoice (which grants the new plan's credits)", tag="subscriptions",
     body=PlanChoice, response=SubscriptionStatus, auth=True)  # fmt: skip
@authenticated()
@rate_limit("purchase", per="user")
async def change(request: Request) -> HTTPResponse:
    body = parse_body(request, PlanChoice)
    return ok(await _subs(request).change(request.ctx.claims.user_id, body.plan_id))


@bp.post("/cancel")
@doc("Cancel at the end of the current period (nothing more is billed or granted after it; idempotent)",
     tag="subscriptions", body=NoBody, response=SubscriptionStatus, auth=True)  # fmt: skip
@authenticated()
async def cancel(request: Request) -> HTTPResponse:
    return ok(await _subs(request).cancel(request.ctx.claims.user_id))


@bp.post("/resume")
@doc("Undo a cancellation while the period lasts (409 not_cancelling, or subscription_ended once it is over)",
     tag="subscriptions", body=NoBody, response=SubscriptionStatus, auth=True)  # fmt: skip
@authenticated()
async def resume(request: Request) -> HTTPResponse:
    return ok(await _subs(request).resume(request.ctx.claims.user_id))


# ------------------------------------------------------------------ admin
@admin_bp.get("")
@doc("Every subscription plan, inactive ones too, with its Stripe price (admin)", tag="admin",
     response=AdminPlans, auth=True)  # fmt: skip
@authenticated("admin")
async def all_plans(request: Request) -> HTTPResponse:
    return ok({"plans": await _subs(request).plans(include_inactive=True)})


@admin_bp.put("/<plan_id:str>")
@doc("Create or edit a plan: name, Stripe price id, monthly credits, shown price, active (admin)", tag="admin",
     body=PlanBody, response=AdminPlan, params=[path_parameter("plan_id", PLAN_ID, "the plan's id")],
     auth=True)  # fmt: skip
@authenticated("admin")
async def put_plan(request: Request, plan_id: str) -> HTTPResponse:
    if not re.fullmatch(PLAN_ID.strip("^$"), plan_id):
        raise InvalidInput("plan id must be 1-64 of a-z, 0-9, _ and -", details={"plan_id": plan_id[:64]})
    body = parse_body(request, PlanBody)
    return ok(await _subs(request).put_plan(plan_id, body.model_dump()))
