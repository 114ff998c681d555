"""What every indexed read shares: ``min_block`` waits, opaque cursors, pages.

A new read route is one small module: parse its query model (a :class:`PageQuery`
subclass), ``await settle(ctx, query)``, call ``ctx.store.read(...)`` with its named query,
and return ``page(...)``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from api.ctx import Context
from api.schemas import PageQuery, ReadQuery
from core.errors import InvalidInput

FAR = 2**62  # a block above any real one: "no cursor yet"


async def settle(ctx: Context, query: ReadQuery) -> None:
    """Wait (bounded) until the indexer has reached ``query.min_block``; else ``NotIndexedYet`` (409)."""
    if query.min_block is not None:
        assert ctx.store is not None
        await ctx.state.wait_for(query.min_block, ctx.settings.min_block_timeout, ctx.store.indexed_block)


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, types: Sequence[type], default: tuple[Any, ...]) -> tuple[Any, ...]:
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
