"""Chain helpers for the API tests: mint through the relayer, index with the indexer."""

from __future__ import annotations

import asyncpg

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from tests.integration.helpers import make_indexer, make_relayer, new_ref, relay_all, sync


async def mint(
    manifest: Manifest, pool: asyncpg.Pool, chain: str, key: str, grants: list[tuple[str, int]]
) -> list[str]:
    """Mint through the relayer (not indexed yet); returns the payment references."""
    refs = []
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, key)
        await relayer.prepare()
        for to, amount in grants:
            ref = new_ref()
            refs.append(ref)
            await store.enqueue("mint", f"mint:{ref}", {"to": to, "amount": amount, "payment_ref": ref})
        await relay_all(relayer, store)
    return refs


async def index(manifest: Manifest, pool: asyncpg.Pool, chain: str) -> None:
    async with RpcClient([chain]) as client:
        await sync(make_indexer(manifest, pool, client))
