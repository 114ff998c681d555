"""``verify`` covers the router's earnings and the accruals: a settled clap and an accrual
agree with the chain; a tampered projection is reported."""

from __future__ import annotations

import asyncpg
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.verify import verify
from tests.integration.helpers import make_indexer, make_relayer, relay_all, sync

FAR = 2**40
INTENT = "(address,address,address,uint256,uint8,uint256,uint256)"


def _digest(chain: str, router: str, intent: tuple[object, ...]) -> bytes:
    data = function_signature_to_4byte_selector(f"intent_digest({INTENT})") + encode([INTENT], [intent])
    result = rpc(chain, "eth_call", [{"to": router, "data": "0x" + data.hex()}, "latest"])
    return bytes(decode(["bytes32"], bytes.fromhex(str(result)[2:]))[0])


async def test_verify_checks_earnings_and_accruals(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan, creator = Account.create(), Account.create().address
    engagement, router = manifest.contract("Engagement").address, manifest.contract("TipRouter").address
    intent = (fan.address, creator, engagement, 40, 0, 1, FAR)  # a clap of 40 TKI
    signature = fan.unsafe_sign_hash(_digest(chain, router, intent)).signature.to_0x_hex()
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await store.enqueue("accrue", "accrue:7", {"epoch": 7, "accounts": [fan.address], "amounts": [100]})
        await relay_all(relayer, store)
        keys = ["from", "to", "token", "amount", "kind", "nonce", "deadline"]
        await store.enqueue(
            "settle", "settle:1", {"intents": [dict(zip(keys, intent, strict=True))], "signatures": [signature]}
        )
        await relay_all(relayer, store)
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        assert await pool.fetchval("SELECT status FROM intent_outcomes") == "settled"
        earnings = await pool.fetch("SELECT account, amount FROM router_earnings ORDER BY amount DESC")
        assert earnings[0]["account"] == creator.lower() and earnings[0]["amount"] + earnings[1]["amount"] == 40

        report = await verify(pool, client, manifest, indexer.store.projections)
        assert report.ok, report.mismatches
        balances = await pool.fetchval("SELECT count(*) FROM token_balances")
        # balances + each ERC-20's supply + 2 earnings (creator, treasury) + 1 accrual epoch + raw events per contract
        assert report.checked == balances + 2 + 2 + 1 + len(manifest.contracts)

        await pool.execute("UPDATE intent_outcomes SET fee = fee + 1")
        await pool.execute("UPDATE accruals SET epoch = 8")
        report = await verify(pool, client, manifest, indexer.store.projections)
    problems = "\n".join(report.mismatches)
    assert "earnings(" in problems and "accrual epoch 8" in problems
    assert len(report.mismatches) == 3, problems  # creator's and treasury's earnings, and the epoch
