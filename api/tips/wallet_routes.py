"""The coin wallet (seed 002's ``GET /api/payment/wallet``): Coin balances (indexed) and pending gifts."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_query
from api.openapi import doc
from api.reads.service import wait_for_min_block
from api.schemas import ReadQuery
from api.services import services
from api.tips.schemas import CoinWallet

bp = Blueprint("coin_wallet", url_prefix="/api/payment")


@bp.get("/wallet")
@doc("Your coin wallet: the Coin balance of your linked wallets (indexed) and gifts not settled yet",
     tag="tips", response=CoinWallet, query=ReadQuery, auth=True)  # fmt: skip
@authenticated()
async def wallet(request: Request) -> HTTPResponse:
    ctx = services(request)
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    return ok(await ctx.tips.coin_wallet(wallets))
