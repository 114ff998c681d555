"""Token balances as the indexer has them, with the block they reflect (cached per indexed block)."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_address, parse_query
from api.openapi import doc, path_parameter
from api.reads.schemas import BalancesData, MyBalancesData
from api.reads.service import cached, wait_for_min_block
from api.schemas import ADDRESS, ReadQuery
from api.services import Services, services

bp = Blueprint("balances", url_prefix="/api")


def _token_rows(ctx: Services, rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"token": name, "address": address, **rows.get(address, {"balance": "0", "updated_block": None})}
        for address, name in ctx.tokens.items()
    ]


@bp.get("/balances/<address:str>")
@doc(
    "Balances of an address (every ERC-20 in the deployment)",
    tag="reads",
    response=BalancesData,
    query=ReadQuery,
    params=[path_parameter("address", ADDRESS, "0x-prefixed account address")],
)
async def balances(request: Request, address: str) -> HTTPResponse:
    ctx = services(request)
    account = parse_address(address)
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))

    async def build() -> dict[str, Any]:
        indexed, rows = await ctx.store.balances(account)
        return {"address": account, "balances": _token_rows(ctx, rows), "indexed_block": indexed}

    return await cached(ctx, f"balances:{account}", build)


@bp.get("/contracts/balances")
@doc(
    "Balances (TK, TKI) and TipRouter earnings of the signed-in user's wallets",
    tag="reads",
    response=MyBalancesData,
    query=ReadQuery,
    auth=True,
)
@authenticated()
async def my_balances(request: Request) -> HTTPResponse:
    ctx = services(request)
    await wait_for_min_block(ctx, parse_query(request, ReadQuery))
    wallets = await ctx.accounts.wallets(request.ctx.claims.user_id)
    indexed, (rows, owed) = await ctx.store.balances_and_earnings(wallets)
    by_wallet: dict[str, dict[str, dict[str, Any]]] = {w: {} for w in wallets}
    for r in rows:
        by_wallet[r["account"]][r["token"]] = {"balance": r["balance"], "updated_block": r["updated_block"]}
    earnings: dict[str, list[dict[str, Any]]] = {w: [] for w in wallets}
    for e in owed:
        if e["amount"] != "0":
            earnings[e["account"]].append(
                {"token": e["token"], "token_name": ctx.tokens.get(e["token"]), "amount": e["amount"]}
            )
    data = [{"address": w, "balances": _token_rows(ctx, by_wallet[w]), "earnings": earnings[w]} for w in wallets]
    return ok({"wallets": data, "indexed_block": indexed})
