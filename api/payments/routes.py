"""Payments: packages, Stripe Checkout, the Stripe webhook, a user's payment history."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi.definitions import Parameter
from sanic_ext.extensions.openapi.types import Schema

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.payments.schemas import (
    Checkout,
    CheckoutBody,
    Packages,
    Payment,
    PaymentsPage,
    StripeEvent,
    Unclaimed,
    WebhookReceived,
)
from api.payments.service import Payments
from api.protect.ratelimit import rate_limit
from api.reads.service import FAR, decode_cursor, page, wait_for_min_block
from api.schemas import PageQuery
from api.services import services
from core.errors import InvalidInput

bp = Blueprint("payments", url_prefix="/api/payment")
SIGNATURE = Parameter(
    "Stripe-Signature",
    Schema(type="string", maxLength=2048),
    "header",
    required=True,
    description="t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>' with the webhook secret>",
)


def _payments(request: Request) -> Payments:
    ctx = services(request)
    return ctx.payments


@bp.get("/packages")
@doc("Coin and credit packages for sale", tag="payments", response=Packages)
async def packages(request: Request) -> HTTPResponse:
    return ok({"packages": await _payments(request).packages()})


@bp.post("/checkout")
@doc(
    "Start a Stripe Checkout for a package (coins go to one of your linked wallets); returns the URL to pay at",
    tag="payments",
    body=CheckoutBody,
    response=Checkout,
    status=201,
    auth=True,
)
@authenticated()
@rate_limit("purchase", per="user")
async def checkout(request: Request) -> HTTPResponse:
    body = parse_body(request, CheckoutBody)
    result = await _payments(request).checkout(
        request.ctx.claims.user_id, body.package_id, body.discount_code, body.wallet
    )
    return ok(result, status=201)


@bp.post("/webhook")
@doc(
    "Stripe events (signed): checkout completed/expired, charge refunded, dispute created, and the subscription "
    "events (customer.subscription.created/updated/deleted, invoice.paid); each event id once",
    tag="payments",
    body=StripeEvent,
    response=WebhookReceived,
    params=[SIGNATURE],
)
async def webhook(request: Request) -> HTTPResponse:
    signature = request.headers.get("stripe-signature")
    return ok(await _payments(request).handle_webhook(request.body or b"", signature))


@bp.get("/history")
@doc(
    "Your payments, newest first ('minted' once the indexer has the mint)",
    tag="payments",
    response=PaymentsPage,
    query=PageQuery,
    auth=True,
)
@authenticated()
async def history(request: Request) -> HTTPResponse:
    ctx = services(request)
    query = parse_query(request, PageQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    await wait_for_min_block(ctx, query)
    user_id, chain_id = request.ctx.claims.user_id, ctx.manifest.chain_id
    indexed, items = await ctx.store.read(
        lambda conn: _payments(request).history_page(conn, user_id, chain_id, before, query.limit)
    )
    return ok(page(items, query, lambda p: (p["id"],), indexed))


@bp.get("/unclaimed")
@doc(
    "Coins you paid for before linking a wallet: they go to the first wallet you link (Sign-In With Ethereum)",
    tag="payments",
    response=Unclaimed,
    auth=True,
)
@authenticated()
async def unclaimed(request: Request) -> HTTPResponse:
    return ok(await _payments(request).unclaimed(request.ctx.claims.user_id))


@bp.get("/<payment_id:str>")
@doc(
    "One of your payments; while it is pending, its Checkout Session is looked up at Stripe and applied",
    tag="payments",
    response=Payment,
    auth=True,
    params=[path_parameter("payment_id", r"^[0-9]{1,18}$", "the payment's id")],
)
@authenticated()
async def payment(request: Request, payment_id: str) -> HTTPResponse:
    ctx = services(request)
    if not re.fullmatch(r"[0-9]{1,18}", payment_id):
        raise InvalidInput("payment id must be a positive integer", details={"payment_id": payment_id[:32]})
    return ok(await _payments(request).payment(request.ctx.claims.user_id, int(payment_id), ctx.manifest.chain_id))
