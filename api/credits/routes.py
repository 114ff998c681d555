"""Credits: balance, history, the usage log, and spends (direct, or reserve → commit / release)."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.credits.prices import UNIT_PRICES, price_list, unit_price
from api.credits.service import CreditLedger
from api.errors import ok
from api.inputs import parse_body, parse_query
from api.openapi import doc
from api.payments.schemas import (
    CommitBody,
    CreditBalance,
    CreditHistory,
    CreditResult,
    FeatureUsageSummary,
    GrantBody,
    ListQuery,
    PriceList,
    ReleaseBody,
    ReserveBody,
    SpendBody,
    UsagePage,
)
from api.reads.service import FAR, decode_cursor, encode_cursor
from api.services import services

bp = Blueprint("credits", url_prefix="/api/credits")
admin_bp = Blueprint("credits_admin", url_prefix="/api/admin/credits")
CLIENT_FEATURES = sorted(UNIT_PRICES)  # reservations the client routes may settle (not a generation job's)


def _ledger(request: Request) -> CreditLedger:
    ctx = services(request)
    return ctx.ledger


def _page(request: Request) -> tuple[ListQuery, int]:
    query = parse_query(request, ListQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    return query, before


def _listed(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if len(items) >= limit else None}


@bp.get("/balance")
@doc("Your credits: available, and held by running jobs", tag="credits", response=CreditBalance, auth=True)
@authenticated()
async def balance(request: Request) -> HTTPResponse:
    return ok(await _ledger(request).balance(request.ctx.claims.user_id))


@bp.get("/history")
@doc("Your credit transactions, newest first", tag="credits", response=CreditHistory, query=ListQuery, auth=True)
@authenticated()
async def history(request: Request) -> HTTPResponse:
    query, before = _page(request)
    return ok(_listed(await _ledger(request).history(request.ctx.claims.user_id, before, query.limit), query.limit))


@bp.get("/usage")
@doc(
    "Your usage log (spends and reservations), newest first",
    tag="credits",
    response=UsagePage,
    query=ListQuery,
    auth=True,
)
@authenticated()
async def usage(request: Request) -> HTTPResponse:
    query, before = _page(request)
    return ok(_listed(await _ledger(request).usage(request.ctx.claims.user_id, before, query.limit), query.limit))


@bp.get("/prices")
@doc("The server's price list: credits per unit of each feature, and per generated video", tag="credits",
     response=PriceList)  # fmt: skip
async def prices(request: Request) -> HTTPResponse:
    return ok(price_list())


@bp.get("/usage/features")
@doc("Your usage summed per feature", tag="credits", response=FeatureUsageSummary, auth=True)
@authenticated()
async def usage_features(request: Request) -> HTTPResponse:
    return ok({"items": await _ledger(request).usage_by_feature(request.ctx.claims.user_id)})


@admin_bp.post("/grant")
@doc("Grant credits to a user (admin; recorded in the ledger with the reason)", tag="credits", body=GrantBody,
     response=CreditResult, auth=True)  # fmt: skip
@authenticated("admin")
async def grant(request: Request) -> HTTPResponse:
    b = parse_body(request, GrantBody)
    memo = f"admin {request.ctx.claims.user_id}: {b.reason}"
    return ok(await _ledger(request).admin_grant(b.user_id, b.amount, key=b.idempotency_key, memo=memo))


@bp.post("/spend")
@doc(
    "Spend credits on a feature now, priced by the server (409 insufficient_credits if the balance is short)",
    tag="credits",
    body=SpendBody,
    response=CreditResult,
    auth=True,
)
@authenticated()
async def spend(request: Request) -> HTTPResponse:
    b = parse_body(request, SpendBody)
    user_id = request.ctx.claims.user_id
    return ok(
        await _ledger(request).spend(
            user_id, unit_price(b.feature, b.quantity), feature=b.feature, reference=b.reference, key=b.idempotency_key
        )
    )


@bp.post("/reserve")
@doc(
    "Hold credits for a long-running job (commit or release it when the job ends)",
    tag="credits",
    body=ReserveBody,
    response=CreditResult,
    auth=True,
)
@authenticated()
async def reserve(request: Request) -> HTTPResponse:
    b = parse_body(request, ReserveBody)
    user_id = request.ctx.claims.user_id
    ledger = _ledger(request)
    return ok(
        await ledger.reserve(
            user_id,
            unit_price(b.feature, b.quantity),
            feature=b.feature,
            reference=b.reference,
            key=b.idempotency_key,
            ttl=b.ttl,
        )
    )


@bp.post("/commit")
@doc(
    "Charge a reservation (all of it, or the price of the units used: the rest goes back)",
    tag="credits",
    body=CommitBody,
    response=CreditResult,
    auth=True,
)
@authenticated()
async def commit(request: Request) -> HTTPResponse:
    b = parse_body(request, CommitBody)
    user_id, ledger = request.ctx.claims.user_id, _ledger(request)
    amount = None
    if b.quantity is not None:
        usage = await ledger.usage_row(user_id, b.usage_id)
        feature = usage["feature"] if usage else None
        amount = unit_price(feature, b.quantity) if feature in UNIT_PRICES and b.quantity else 0
    return ok(await ledger.commit(user_id, b.usage_id, amount=amount, key=b.idempotency_key, features=CLIENT_FEATURES))


@bp.post("/release")
@doc(
    "Release a reservation: the job failed or was cancelled, the credits go back",
    tag="credits",
    body=ReleaseBody,
    response=CreditResult,
    auth=True,
)
@authenticated()
async def release(request: Request) -> HTTPResponse:
    b = parse_body(request, ReleaseBody)
    user_id = request.ctx.claims.user_id
    return ok(await _ledger(request).release(user_id, b.usage_id, key=b.idempotency_key, features=CLIENT_FEATURES))
