"""Indexed reads: balances, mints, transfer history, pagination, and min_block waits."""

from __future__ import annotations

import asyncio

import asyncpg
from eth_account import Account
from sanic import Sanic

from anvil.node import rpc
from core.chain.manifest import Manifest
from tests.integration.api.chain import index, mint


def head(chain: str) -> int:
    return int(str(rpc(chain, "eth_blockNumber")), 16)


async def test_balances_mints_and_transfers_after_indexing(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    refs = await mint(manifest, pool, chain, relayer_key, [(fan, 5), (fan, 7), (fan, 11)])
    await index(manifest, pool, chain)
    tip = head(chain)

    _, response = await app.asgi_client.get(f"/api/balances/{fan}")
    data = response.json["data"]
    assert response.status == 200 and data["indexed_block"]["number"] == tip
    coin = next(b for b in data["balances"] if b["token"] == "Coin")
    assert coin["balance"] == "23" and coin["address"] == manifest.contract("Coin").address
    _, cached = await app.asgi_client.get(f"/api/balances/{fan}")
    assert cached.json == response.json

    _, one = await app.asgi_client.get(f"/api/mints/{refs[1]}")
    assert one.status == 200, one.text
    assert one.json["data"]["mint"]["amount"] == "7" and one.json["data"]["mint"]["account"] == fan.lower()
    _, missing = await app.asgi_client.get("/api/mints/0x" + "ee" * 32)
    assert missing.status == 404 and missing.json["error"]["details"]["indexed_block"]["number"] == tip

    seen, cursor = [], None
    for _ in range(4):
        path = f"/api/mints?account={fan}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        _, page = await app.asgi_client.get(path)
        assert page.status == 200, page.text
        seen += [m["payment_ref"] for m in page.json["data"]["items"]]
        cursor = page.json["data"]["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(refs) and len(seen) == 3

    _, history = await app.asgi_client.get(f"/api/transfers?account={fan}&limit=2")
    items = history.json["data"]["items"]
    assert [t["amount"] for t in items] == ["11", "7"]  # newest first
    assert all(t["direction"] == "in" and t["token_name"] == "Coin" for t in items)
    _, rest = await app.asgi_client.get(
        f"/api/transfers?account={fan}&limit=2&cursor={history.json['data']['next_cursor']}"
    )
    assert [t["amount"] for t in rest.json["data"]["items"]] == ["5"] and rest.json["data"]["next_cursor"] is None

    _, bad_cursor = await app.asgi_client.get(f"/api/transfers?account={fan}&cursor=AAAA")
    assert bad_cursor.status == 400


async def test_my_balances_cover_the_linked_wallets(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    wallets = [Account.create().address for _ in range(2)]
    await mint(manifest, pool, chain, relayer_key, [(wallets[0], 3), (wallets[1], 4)])
    await index(manifest, pool, chain)
    _, signup = await app.asgi_client.post(
        "/api/auth/signup", json={"email": "w@example.com", "password": "password123"}
    )
    tokens = signup.json["data"]
    for wallet in wallets:
        await pool.execute(
            "INSERT INTO user_wallets (address, user_id) VALUES ($1, $2)", wallet.lower(), tokens["user"]["id"]
        )
    _, response = await app.asgi_client.get(
        "/api/contracts/balances", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status == 200, response.text
    got = {
        w["address"]: next(b["balance"] for b in w["balances"] if b["token"] == "Coin")
        for w in response.json["data"]["wallets"]
    }
    assert got == {wallets[0].lower(): "3", wallets[1].lower(): "4"}
    _, anonymous = await app.asgi_client.get("/api/contracts/balances")
    assert anonymous.status == 401


async def test_a_min_block_read_returns_only_once_the_row_is_indexed(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    [ref] = await mint(manifest, pool, chain, relayer_key, [(fan, 42)])
    tip = head(chain)
    read = asyncio.create_task(app.asgi_client.get(f"/api/mints/{ref}?min_block={tip}"))
    await asyncio.sleep(0.6)
    assert not read.done()  # nothing indexed yet: the read waits
    await index(manifest, pool, chain)
    _, response = await asyncio.wait_for(read, 5)
    assert response.status == 200, response.text
    assert response.json["data"]["mint"]["amount"] == "42"
    assert response.json["data"]["indexed_block"]["number"] >= tip


async def test_a_min_block_beyond_the_indexer_answers_409_after_a_bounded_wait(app: Sanic) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    _, response = await app.asgi_client.get("/api/balances/0x" + "ab" * 20 + "?min_block=1000000")
    waited = loop.time() - started
    assert response.status == 409 and response.json["error"]["code"] == "not_indexed_yet"
    assert response.headers["retry-after"] == "1"
    assert response.json["error"]["details"]["min_block"] == 1000000
    assert 1.5 < waited < 15  # API_MIN_BLOCK_TIMEOUT is 2 s; the slack covers app start-up on a loaded machine
