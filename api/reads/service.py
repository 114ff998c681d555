"""What every indexed read shares: ``min_block`` waits, opaque cursors, pages.

A new read route is one small module: parse its query model (a :class:`PageQuery`
subclass), ``await wait_for_min_block(ctx, query)``, call ``ctx.store.read(...)`` with its named query,
and return ``page(...)``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sanic.response import HTTPResponse, raw

from api.schemas import PageQuery, ReadQuery
from api.services import Services
from core.db.replica import current_scope
from core.errors import InvalidInput

FAR = 2**62  # a block above any real one: "no cursor yet"
_UINT = re.compile(r"^[0-9]{1,78}$")


def bounded(limit: int) -> Callable[[str], int]:
    """A cursor part parser: a decimal integer in [0, limit), else ValueError (-> 400)."""

    def parse(text: str) -> int:
        if not _UINT.match(text) or int(text) >= limit:
            raise ValueError(text)
        return int(text)

    return parse


BIGINT, UINT256 = bounded(2**63), bounded(2**256)


def parse_uint256(value: str, name: str) -> int:
    try:
        return UINT256(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a decimal uint256", details={name: value[:80]}) from None


async def wait_for_min_block(ctx: Services, query: ReadQuery) -> None:
    """Wait (bounded) until the indexer has reached ``query.min_block``; else ``NotIndexedYet`` (409).

    The reads that follow must reflect it too: on a read replica, only once it has replayed the primary's
    WAL position at which this process saw the block (else they wait for it, then go to the primary).
    """
    if query.min_block is None:
        return
    await ctx.state.wait_for(query.min_block, ctx.settings.min_block_timeout, ctx.store.checkpoint)
    scope = current_scope()
    if scope is not None:
        scope.min_block = max(scope.min_block or 0, query.min_block)
        scope.require_lsn(ctx.state.lsn)


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode().rstrip("=")


Parse = Callable[[str], Any]


def decode_cursor(cursor: str | None, types: Sequence[Parse], default: tuple[Any, ...]) -> tuple[Any, ...]:
    if cursor is None:
        return default
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = text.split("|")
        if len(parts) != len(types):
            raise ValueError(text)
        return tuple(kind(part) for kind, part in zip(types, parts, strict=True))
    except ValueError as exc:
        raise InvalidInput("the cursor is not one this API issued", details={"cursor": cursor[:64]}) from exc


def page(
    items: list[dict[str, Any]], query: PageQuery, key: Callable[[dict[str, Any]], tuple[Any, ...]], indexed: Any
) -> dict[str, Any]:
    """A page of at most ``query.limit`` items; ``next_cursor`` only when a full page came back."""
    next_cursor = encode_cursor(*key(items[-1])) if len(items) >= query.limit else None
    return {"items": items, "next_cursor": next_cursor, "indexed_block": indexed}


async def cached(ctx: Services, key: str, build: Callable[[], Awaitable[dict[str, Any]]]) -> HTTPResponse:
    """The success envelope of ``build()``, cached per indexed block (in process, then Redis).

    The key's generation is this process's view of the indexer's checkpoint, moved by its
    NOTIFY: a new block (a new bid, an ended auction) or a reorg moves every read to new keys.
    """
    cacheable = ctx.state.number is not None
    generation, lsn = f"{ctx.store.chain_id}:{ctx.state.generation}", ctx.state.lsn
    body = await ctx.cache.get(generation, key) if cacheable else None
    scope = current_scope()
    if body is None and cacheable and scope is not None:
        # Cached under this generation's key, so built from a snapshot that has this generation: a read
        # replica serves it once it has replayed the position the generation was seen at.
        scope.require_lsn(lsn)
    if body is None:
        body = json.dumps({"success": True, "data": await build()}, separators=(",", ":")).encode()
        if cacheable:
            await ctx.cache.put(generation, key, body)
    return raw(body, content_type="application/json")
