"""Helpers of the relayer's chain tests."""

from __future__ import annotations

import asyncio

import asyncpg
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.app import Relayer
from relayer.store import RelayerStore


def chain_nonce(url: str, address: str, tag: str = "pending") -> int:
    return int(str(rpc(url, "eth_getTransactionCount", [address, tag])), 16)


def relayer_for(
    manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, key: str, **options: float
) -> tuple[Relayer, RelayerStore]:
    store = RelayerStore(pool)
    return Relayer(manifest, store, client, Account.from_key(key), **options), store  # type: ignore[arg-type]


def mint(to: str, amount: int, ref: str) -> dict[str, object]:
    return {"to": to, "amount": amount, "payment_ref": ref}


async def drain(relayer: Relayer) -> int:
    """Run one relayer until the queue is empty (others may share it); returns how many requests it sent."""
    sent = 0
    for _ in range(500):
        while await relayer.submit_one():
            sent += 1
            await asyncio.sleep(0)  # let the other relayer claim too
        await relayer.check_submitted()
        counts = await relayer.store.status_counts()
        if not counts.get("pending") and not counts.get("submitted"):
            return sent
        await asyncio.sleep(0.01)
    raise AssertionError(f"requests still in flight: {await relayer.store.status_counts()}")
