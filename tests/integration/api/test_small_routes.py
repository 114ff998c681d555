"""Small routes: the coin wallet (indexed Coin balances, gifts not settled yet), the latest reward code,
and gzip negotiated for large JSON bodies (Accept-Encoding, a size threshold, Vary)."""

from __future__ import annotations

import asyncpg
import pytest
from sanic import Sanic

from api.protect.compress import accepts_gzip
from core.chain.manifest import Manifest
from tests.integration.api.tipping import creator, intent, person

GIFT = 1


async def test_coin_wallet_and_latest_reward(app: Sanic, manifest: Manifest, pool: asyncpg.Pool) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan = await person(app, pool)
    coin = manifest.contract("Coin").address
    await pool.execute("INSERT INTO token_balances (chain_id, token, account, balance, updated_block) "
                       "VALUES ($1, $2, $3, 70, 1)", manifest.chain_id, coin, fan.address.lower())  # fmt: skip
    _, sent = await app.asgi_client.post(
        "/api/contracts/gift", headers=fan.headers, json=intent(manifest, fan, star.address, GIFT, 25, 1)
    )
    assert sent.status == 201, sent.text
    _, wallet = await app.asgi_client.get("/api/payment/wallet", headers=fan.headers)
    assert wallet.status == 200, wallet.text
    data = wallet.json["data"]
    assert (data["token"], data["balance"]) == (coin, "70")
    assert data["wallets"] == [{"address": fan.address.lower(), "balance": "70"}]
    assert data["pending_gifts_sent"] == {"count": 1, "amount": "25"}
    assert data["pending_gifts_received"] == {"count": 0, "amount": "0"}
    _, received = await app.asgi_client.get("/api/payment/wallet", headers=star.headers)
    assert received.json["data"]["pending_gifts_received"] == {"count": 1, "amount": "25"}
    assert received.json["data"]["balance"] == "0"
    _, anonymous = await app.asgi_client.get("/api/payment/wallet")
    assert anonymous.status == 401

    _, none = await app.asgi_client.get("/api/discount/latest-reward", headers=fan.headers)
    assert none.status == 404 and none.json["success"] is False
    for code in ("REWARD-ONE", "REWARD-TWO"):
        await pool.execute("INSERT INTO discount_codes (code, kind, percent, owner_user_id) VALUES ($1, 'percent_off', "
                           "10, $2)", code, fan.id)  # fmt: skip
    _, latest = await app.asgi_client.get("/api/discount/latest-reward", headers=fan.headers)
    assert latest.status == 200 and latest.json["data"]["code"] == "REWARD-TWO"
    _, others = await app.asgi_client.get("/api/discount/latest-reward", headers=star.headers)
    assert others.status == 404


async def test_gzip_is_negotiated_for_large_json(app: Sanic) -> None:
    _, plain = await app.asgi_client.get("/docs/openapi.json", headers={"Accept-Encoding": "identity"})
    assert plain.status == 200 and "content-encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["vary"] and len(plain.content) > 1024
    _, zipped = await app.asgi_client.get("/docs/openapi.json", headers={"Accept-Encoding": "br;q=1, gzip;q=0.5"})
    assert zipped.headers["content-encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["vary"]
    assert zipped.json == plain.json  # the client decoded it
    _, refused = await app.asgi_client.get("/docs/openapi.json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    _, small = await app.asgi_client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert small.status == 200 and "content-encoding" not in small.headers  # under the threshold


@pytest.mark.parametrize(
    ("header", "accepted"),
    [("gzip", True), ("gzip;q=0", False), ("*", True), ("br, *;q=0", False), ("", False), ("deflate, GZIP;q=0.1", True),
     ("gzip;q=x", False), ("identity", False)],
)  # fmt: skip
def test_accept_encoding(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted
