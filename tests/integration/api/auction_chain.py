"""Chain helpers for the auction and earnings reads: auctions and bids from unlocked anvil accounts,
and a real clap settled through the relayer (an accrual, then an EIP-712 intent signed by the fan)."""

from __future__ import annotations

import asyncpg
from eth_abi import decode as abi_decode
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.calls import encode_call
from tests.integration.helpers import make_relayer, relay_all, send
from tests.integration.test_auction_projection import ALICE, BOB, SELLER

__all__ = ["ALICE", "BOB", "SELLER", "clap", "send"]
FAR = 2**40


async def clap(manifest: Manifest, pool: asyncpg.Pool, chain: str, key: str, to: str, amount: int) -> str:
    """A fan accrues ``amount`` TKI and claps it to ``to`` (settled, not indexed yet); returns the digest."""
    fan = Account.create()
    engagement = manifest.contract("Engagement").address
    intent = (fan.address, to, engagement, amount, 0, 1, FAR)  # kind 0: a clap, in TKI
    call = encode_call(manifest, "TipRouter", "intent_digest", [intent])
    digest = bytes.fromhex(str(rpc(chain, "eth_call", [{"to": call.to, "data": call.data}, "latest"]))[2:])
    (digest,) = abi_decode(["bytes32"], digest)
    signature = Account.unsafe_sign_hash(digest, fan.key).signature.hex()
    payload = {"from": fan.address, "to": to, "token": engagement, "amount": amount, "kind": 0, "nonce": 1,
               "deadline": FAR}  # fmt: skip
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, key)
        await relayer.prepare()
        accrual = {"epoch": int.from_bytes(digest[:6], "big"), "accounts": [fan.address], "amounts": [amount]}
        await store.enqueue("accrue", f"accrue:{fan.address}", accrual)
        await relay_all(relayer, store)
        sig = signature if signature.startswith("0x") else "0x" + signature
        await store.enqueue("settle", f"settle:{fan.address}", {"intents": [payload], "signatures": [sig]})
        await relay_all(relayer, store)
    return "0x" + digest.hex()
