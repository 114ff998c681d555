"""Small helpers shared by the chain tests."""

from __future__ import annotations

import secrets
import time

import asyncpg
from eth_account import Account

from anvil.deploy import EXTENSION_S
from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.app import Indexer
from indexer.projections import Projections
from indexer.store import QUERIES as INDEXER_QUERIES
from indexer.store import Store as IndexerStore
from relayer.app import Relayer
from relayer.calls import encode_call
from relayer.store import RelayerStore

# A bid in the last EXTENSION_WINDOW_S of an auction moves its end to EXTENSION_S after the bid: a test auction
# (duration 300) that got a bid a second or more after its creation ends 600 s after that bid, not at 300.
PAST_AUCTION_END_S = EXTENSION_S + 300

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account #0: unlocked, a Coin minter since deploy


def new_ref() -> str:
    return "0x" + secrets.token_hex(32)


def send(url: str, manifest: Manifest, sender: str, contract: str, fn: str, args: list[object], value: int = 0) -> None:
    """A transaction from an unlocked or impersonated account, mined and successful.

    It is checked with ``eth_call`` first (a revert fails with its reason) and sent with a fixed gas
    limit: anvil estimates gas at the pending block's time, and a bid mined a second later may take
    the extension branch (more storage writes) and run out of the estimate.
    """
    call = encode_call(manifest, contract, fn, args)
    request = {"from": sender, "to": call.to, "data": call.data, "value": hex(value)}
    try:
        rpc(url, "eth_call", [request, "latest"])
    except RuntimeError as exc:
        raise AssertionError(f"{fn} would revert: {exc}") from None
    tx = rpc(url, "eth_sendTransaction", [{**request, "gas": hex(1_000_000)}])
    for _ in range(250):  # right after sending, anvil may still answer null
        if receipt := rpc(url, "eth_getTransactionReceipt", [tx]):
            assert isinstance(receipt, dict) and receipt["status"] == "0x1", (fn, receipt)
            return
        time.sleep(0.02)
    raise AssertionError(f"{fn} was not mined")


def balance_of(url: str, token: str, account: str) -> int:
    data = "0x70a08231" + account[2:].lower().rjust(64, "0")
    return int(str(rpc(url, "eth_call", [{"to": token, "data": data}, "latest"])), 16)


def make_indexer(manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, **kwargs: int) -> Indexer:
    store = IndexerStore(pool, manifest.chain_id, Projections.from_manifest(manifest, INDEXER_QUERIES))
    return Indexer(manifest, store, client, **kwargs)


async def sync(indexer: Indexer, *, pipelined: bool = True) -> None:
    """Catch up to the head: pipelined backfill first (as `run` does), then block-by-block."""
    await indexer.prepare()
    for _ in range(1000):
        if not ((pipelined and await indexer.backfill()) or await indexer.sync_once()):
            return
    raise AssertionError("the indexer never caught up")


async def relay_all(relayer: Relayer, store: RelayerStore) -> None:
    for _ in range(50):
        await relayer.tick()
        counts = await store.status_counts()
        if not counts.get("pending") and not counts.get("submitted"):
            return
    raise AssertionError(f"requests still in flight: {await store.status_counts()}")


def make_relayer(manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, key: str) -> tuple[Relayer, RelayerStore]:
    store = RelayerStore(pool)
    return Relayer(manifest, store, client, Account.from_key(key)), store


def mint_directly(url: str, manifest: Manifest, to: str, amount: int) -> None:
    """A Coin mint sent by the (unlocked) deployer, bypassing the relayer."""
    call = encode_call(manifest, "Coin", "mint", [to, amount, bytes.fromhex(new_ref()[2:])])
    rpc(url, "eth_sendTransaction", [{"from": DEPLOYER, "to": call.to, "data": call.data}])
