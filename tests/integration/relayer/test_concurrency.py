"""Two relayers on one queue (separate pools, as two processes) never send a request twice."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from eth_account import Account

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from tests.integration.helpers import balance_of, new_ref
from tests.integration.relayer.common import chain_nonce, drain, mint, relayer_for

REQUESTS = 30


async def test_two_relayers_on_one_queue_send_each_request_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, relayer_key: str
) -> None:
    fans = [Account.create().address for _ in range(REQUESTS)]
    other_pool = await create_pool(db_url, max_size=5)
    try:
        async with RpcClient([chain]) as one, RpcClient([chain]) as two:
            first, store = relayer_for(manifest, pool, one, relayer_key)
            second, _ = relayer_for(manifest, other_pool, two, relayer_key)
            await first.prepare()
            await second.prepare()
            start = chain_nonce(chain, first.address, "latest")
            for i, fan in enumerate(fans):
                await store.enqueue("mint", f"pair:{i}", mint(fan, i + 1, new_ref()))
            began = time.monotonic()
            # The second sends one before both run at once: on a fast machine the first could otherwise drain
            # the whole queue before the second claims anything, and "both took part" would be a race.
            assert await second.submit_one()
            sent = list(await asyncio.gather(drain(first), drain(second)))
            sent[1] += 1
            elapsed = time.monotonic() - began
    finally:
        await other_pool.close()
    assert sum(sent) == REQUESTS
    assert min(sent) > 0, sent  # both relayers took part
    rows = await pool.fetch("SELECT status, nonce, tx_hash, tx_hashes FROM tx_requests ORDER BY nonce")
    assert [r["status"] for r in rows] == ["confirmed"] * REQUESTS
    assert sorted(r["nonce"] for r in rows) == list(range(start, start + REQUESTS))  # no gaps, no reuse
    assert sum(len(r["tx_hashes"]) for r in rows) == REQUESTS  # one transaction per request
    assert chain_nonce(chain, first.address, "latest") == start + REQUESTS
    token = manifest.contract("Coin").address
    assert [balance_of(chain, token, fan) for fan in fans] == [i + 1 for i in range(REQUESTS)]
    print(f"two relayers: {REQUESTS} mints confirmed in {elapsed:.2f}s, sent {sent}")  # noqa: T201 (test figure)
