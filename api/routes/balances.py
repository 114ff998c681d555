"""Token balances as the indexer has them, with the block they reflect."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.ctx import Context
from api.errors import ok
from core.errors import InvalidInput

bp = Blueprint("balances", url_prefix="/api")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def parse_address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise InvalidInput("address must be 0x followed by 40 hex digits", details={"address": value[:64]})
    return value.lower()


@bp.get("/balances/<address:str>")
async def balances(request: Request, address: str) -> HTTPResponse:
    ctx: Context = request.app.ctx.app
    assert ctx.store is not None and ctx.manifest is not None
    account = parse_address(address)
    indexed, rows = await ctx.store.balances(account)
    tokens = []
    for name, contract in ctx.manifest.erc20_tokens().items():
        row = rows.get(contract.address, {"balance": "0", "updated_block": None})
        tokens.append({"token": name, "address": contract.address, **row})
    return ok({"address": account, "balances": tokens, "indexed_block": indexed})
