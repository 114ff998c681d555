"""Helpers of the tipping tests: accounts with wallets, creators, EIP-712 signing (eth-account's own
typed-data encoder, independent of core.chain.eip712), fan funding on anvil, the relayer's job context."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from eth_account import Account
from eth_account.messages import encode_typed_data
from sanic import Sanic

from anvil.node import rpc
from core.chain.eip712 import INTENT_TYPES
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.jobs import JobContext
from relayer.settings import RelayerSettings
from relayer.store import RelayerStore
from tests.integration.helpers import mint_directly, relay_all
from tests.integration.relayer.common import relayer_for

PASSWORD = "tipping-password"
_emails = itertools.count()
_epochs = itertools.count(1000)


@dataclass
class Person:
    id: int
    headers: dict[str, str]
    account: Any  # eth_account LocalAccount

    @property
    def address(self) -> str:
        return str(self.account.address)


async def login(app: Sanic, email: str) -> dict[str, Any]:
    _, response = await app.asgi_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200, response.text
    return dict(response.json["data"])


async def person(app: Sanic, pool: asyncpg.Pool, role: str | None = None) -> Person:
    """A signed-up user with one linked wallet (and a role set in the database, then signed in again)."""
    email = f"tipper{next(_emails)}@example.com"
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    data = response.json["data"]
    account = Account.create()
    await pool.execute("INSERT INTO user_wallets (address, user_id) VALUES ($1, $2)", account.address.lower(),
                       data["user"]["id"])  # fmt: skip
    if role:
        await pool.execute("UPDATE users SET role = $2 WHERE id = $1", data["user"]["id"], role)
        data = await login(app, email)
    return Person(data["user"]["id"], {"Authorization": f"Bearer {data['access_token']}"}, account)


async def creator(app: Sanic, pool: asyncpg.Pool, admin: Person) -> Person:
    """A user who applied and was approved by ``admin`` through the API (then signed in again)."""
    who = await person(app, pool)
    _, applied = await app.asgi_client.post(
        "/api/creators/apply", headers=who.headers, json={"display_name": "Ada", "bio": "art", "categories": ["art"]}
    )
    assert applied.status == 201, applied.text
    _, approved = await app.asgi_client.post(f"/api/admin/creators/{who.id}/approve", headers=admin.headers)
    assert approved.status == 200, approved.text
    email = await pool.fetchval("SELECT email FROM users WHERE id = $1", who.id)
    data = await login(app, email)
    assert data["user"]["role"] == "creator"
    return Person(who.id, {"Authorization": f"Bearer {data['access_token']}"}, who.account)


def domain(manifest: Manifest) -> dict[str, Any]:
    return {"name": "TipRouter", "version": "1", "chainId": manifest.chain_id,
            "verifyingContract": manifest.contract("TipRouter").address}  # fmt: skip


def sign(key: Any, manifest: Manifest, primary: str, types: list[dict[str, str]], message: dict[str, Any]) -> str:
    signable = encode_typed_data(domain_data=domain(manifest), message_types={primary: types}, message_data=message)
    return "0x" + bytes(Account.sign_message(signable, key).signature).hex()


def intent(
    manifest: Manifest, fan: Person, to: str, kind: int, amount: int, nonce: int, *, deadline: int | None = None,
    token: str | None = None, signer: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """The API body of a clap (kind 0) or gift (kind 1), signed by ``signer`` (default: the fan)."""
    token = token or manifest.contract("Engagement" if kind == 0 else "Coin").address
    deadline = deadline if deadline is not None else int(time.time()) + 7 * 86400
    message = {"from": fan.address, "to": to, "token": token, "amount": amount, "kind": kind, "nonce": nonce,
               "deadline": deadline}  # fmt: skip
    signature = sign((signer or fan.account).key, manifest, "Intent", INTENT_TYPES, message)
    return {"from": fan.address, "to": to, "token": token, "amount": str(amount), "nonce": str(nonce),
            "deadline": str(deadline), "signature": signature}  # fmt: skip


def send_as(url: str, sender: str, to: str, data: str) -> None:
    """A transaction from any address (anvil impersonation, funded for gas)."""
    rpc(url, "anvil_setBalance", [sender, hex(10**18)])
    rpc(url, "anvil_impersonateAccount", [sender])
    rpc(url, "eth_sendTransaction", [{"from": sender, "to": to, "data": data}])
    rpc(url, "anvil_stopImpersonatingAccount", [sender])


def approve_router(url: str, manifest: Manifest, owner: str, amount: int) -> None:
    router = manifest.contract("TipRouter").address
    data = "0x095ea7b3" + router[2:].rjust(64, "0") + format(amount, "064x")
    send_as(url, owner, manifest.contract("Coin").address, data)


async def fund(
    url: str, manifest: Manifest, pool: asyncpg.Pool, key: str, fan: str, *, tk: int = 0, tki: int = 0,
    allowance: int = 0,
) -> None:  # fmt: skip
    """TK minted directly (and an allowance to the router), TKI accrued through the relayer."""
    if tk:
        mint_directly(url, manifest, fan, tk)
    if allowance:
        approve_router(url, manifest, fan, allowance)
    if tki:
        async with RpcClient([url]) as client:
            relayer, store = relayer_for(manifest, pool, client, key)
            await relayer.prepare()
            epoch = next(_epochs)
            await store.enqueue("accrue", f"accrue:{epoch}", {"epoch": epoch, "accounts": [fan], "amounts": [tki]})
            await relay_all(relayer, store)


def job_context(manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, **settings: Any) -> JobContext:
    values: dict[str, Any] = {"environment": "test", "database_url": "postgresql://unused", **settings}
    return JobContext(pool=pool, rpc=client, manifest=manifest, settings=RelayerSettings(**values),
                      store=RelayerStore(pool), chain_id=manifest.chain_id)  # fmt: skip
