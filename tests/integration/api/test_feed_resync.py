"""A projection swap (README "Upgrading projections") reaches live-feed clients as ``resync``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
from eth_account import Account

from core.chain.manifest import Manifest
from indexer.rows import token_fields
from indexer.upgrade import definition, swap
from tests.integration.api.chain import index, mint
from tests.integration.api.test_feed import _read_sse, _until


async def test_a_projection_swap_tells_sse_clients_to_resync(
    api_server: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address.lower()
    events: list[dict[str, Any]] = []
    reader = asyncio.create_task(_read_sse(f"{api_server}/api/feed/sse", events))
    try:
        await mint(manifest, pool, chain, relayer_key, [(fan, 3)])
        await index(manifest, pool, chain)
        await _until(events, lambda e: e["type"] == "balance" and e["account"] == fan, within=30)
        await swap.upgrade(pool, definition.balances(token_fields(manifest), code_version=99), manifest.chain_id)
        resync = await _until(events, lambda e: e["type"] == "resync", within=30)
        assert "token_balances" in resync["data"]["reason"]
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
