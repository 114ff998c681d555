"""The thin slice: a mint request goes relayer → chain → indexer → Postgres → API."""

from __future__ import annotations

import secrets
from pathlib import Path

import asyncpg
from eth_account import Account

from api.app import create_app
from api.settings import ApiSettings
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.app import Indexer
from indexer.projections import Projections
from indexer.store import QUERIES as INDEXER_QUERIES
from indexer.store import Store as IndexerStore
from relayer.app import Relayer
from relayer.store import RelayerStore
from tests.integration.api.asgi import started_client
from tests.integration.helpers import balance_of, sync


async def _drain_relayer(relayer: Relayer, request_id: int, store: RelayerStore) -> asyncpg.Record:
    for _ in range(50):
        await relayer.tick()
        row = await store.get(request_id)
        assert row is not None
        if row["status"] not in ("pending", "submitted"):
            return row
    raise AssertionError("the relayer never finished the request")


async def test_mint_request_reaches_the_api(
    chain: str, manifest: Manifest, manifest_path: Path, pool: asyncpg.Pool, db_url: str, relayer_key: str
) -> None:
    fan = Account.create().address
    amount = 1234 * 10**18
    payment_ref = "0x" + secrets.token_hex(32)

    relayer_store = RelayerStore(pool)
    request_id = await relayer_store.enqueue(
        "mint", f"mint:{payment_ref}", {"to": fan, "amount": amount, "payment_ref": payment_ref}
    )

    async with RpcClient([chain]) as client:
        relayer = Relayer(manifest, relayer_store, client, Account.from_key(relayer_key))
        await relayer.prepare()
        row = await _drain_relayer(relayer, request_id, relayer_store)
        assert row["status"] == "confirmed", row["last_error"]
        assert balance_of(chain, manifest.contract("Coin").address, fan) == amount

        store = IndexerStore(pool, manifest.chain_id, Projections.from_manifest(manifest, INDEXER_QUERIES))
        await sync(Indexer(manifest, store, client))

    settings = ApiSettings(
        database_url=db_url, rpc_urls=[chain], manifest_path=manifest_path, redis_url="redis://127.0.0.1:6379/15"
    )
    app = started_client(create_app(settings, name=f"thin_slice_{request_id}"))
    _, response = await app.asgi_client.get(f"/api/balances/{fan}")
    assert response.status == 200, response.text
    body = response.json
    assert body["success"] is True
    coin = next(b for b in body["data"]["balances"] if b["token"] == "Coin")
    assert int(coin["balance"]) == amount
    assert body["data"]["indexed_block"]["number"] >= row["block_number"]
    assert coin["updated_block"] == row["block_number"]
