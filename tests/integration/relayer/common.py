"""Helpers of the relayer's chain tests."""

from __future__ import annotations

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
