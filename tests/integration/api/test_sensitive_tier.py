"""The sensitive rate tier (3 per 15 minutes per user) on the routes that move money out or change where
it goes: a creator's withdrawal, payout details, and linking a wallet to a signed-in account (the
account's coins are minted to it); one budget per user across them, other users unaffected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from eth_account import Account
from sanic import Sanic

from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app
from tests.integration.api.payments.conftest import PASSWORD, bearer, email_user
from tests.integration.api.test_siwe import nonce, sign, siwe_message

WITHDRAWAL = {
    "creator": "0x" + "11" * 20, "token": "0x" + "22" * 20, "amount": "1", "nonce": "1",
    "deadline": "1", "signature": "0x" + "33" * 65,
}  # fmt: skip


async def creator(app: Sanic, pool: asyncpg.Pool, email: str) -> dict[str, Any]:
    tokens = await email_user(app, email)
    await pool.execute("UPDATE users SET role = 'creator' WHERE id = $1", tokens["user"]["id"])
    _, login = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status == 200, login.text
    return login.json["data"]


async def link(app: Sanic, tokens: dict[str, Any] | None) -> Any:
    account = Account.create()
    text = siwe_message(account.address, await nonce(app))
    _, response = await app.asgi_client.post(
        "/api/auth/siwe/verify", json={"message": text, "signature": sign(account, text)},
        headers=bearer(tokens) if tokens else {},
    )  # fmt: skip
    return response


async def test_withdrawals_payout_details_and_wallet_links_are_in_the_sensitive_tier(
    db_url: str, chain: str, manifest_path: Path, redis: object, smtp: FakeSmtpServer, pool: asyncpg.Pool
) -> None:
    app = make_app(api_settings(db_url, chain, manifest_path, rate_sensitive="3/900"), smtp)
    star = await creator(app, pool, "star@example.com")
    statuses = []
    for _ in range(4):
        _, response = await app.asgi_client.post("/api/contracts/withdraw", json=WITHDRAWAL, headers=bearer(star))
        statuses.append(response.status)
    assert 429 not in statuses[:3] and statuses[3] == 429, statuses
    assert response.json["error"]["code"] == "rate_limited" and response.json["error"]["details"]["tier"] == "sensitive"
    # The same budget: the payout details of this creator are refused too.
    _, payout = await app.asgi_client.put("/api/payout-details", json={}, headers=bearer(star))
    assert payout.status == 429

    other = await creator(app, pool, "other@example.com")
    changes = []
    for _ in range(4):
        body = {"current_password": PASSWORD, "method": "wallet", "wallet_address": "0x" + "44" * 20}
        _, response = await app.asgi_client.put("/api/payout-details", json=body, headers=bearer(other))
        changes.append(response.status)
    assert changes == [200, 200, 200, 429], changes

    fan = await email_user(app, "fan@example.com")
    links = [(await link(app, fan)).status for _ in range(4)]
    assert links == [200, 200, 200, 429], links
    assert (await link(app, None)).status == 200  # signing in with a wallet (no account to link to) is not counted
    assert await pool.fetchval("SELECT count(*) FROM user_wallets WHERE user_id = $1", fan["user"]["id"]) == 3
