"""Sign-In With Ethereum: messages signed by eth-account, and every way one must be refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from sanic import Sanic

from core.chain.manifest import Manifest
from tests.integration.api.conftest import SIWE_DOMAIN


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def siwe_message(
    address: str,
    nonce: str,
    *,
    domain: str = SIWE_DOMAIN,
    uri: str | None = None,
    chain_id: int = 31337,
    issued_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> str:
    lines = [
        f"{domain} wants you to sign in with your Ethereum account:",
        address,
        "",
        "Sign in to the creator app.",
        "",
        f"URI: {uri or 'https://' + domain + '/login'}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {iso(issued_at or datetime.now(UTC))}",
    ]
    if expires_at is not None:
        lines.append(f"Expiration Time: {iso(expires_at)}")
    return "\n".join(lines)


def sign(account: object, text: str) -> str:
    signature = account.sign_message(encode_defunct(text=text)).signature.hex()  # type: ignore[attr-defined]
    return signature if signature.startswith("0x") else "0x" + signature


async def nonce(app: Sanic) -> str:
    _, response = await app.asgi_client.get("/api/auth/siwe/nonce")
    assert response.status == 200, response.text
    data = response.json["data"]
    assert data["domain"] == SIWE_DOMAIN and data["chain_id"] == 31337
    return data["nonce"]


async def verify(app: Sanic, text: str, signature: str, headers: dict[str, str] | None = None) -> object:
    _, response = await app.asgi_client.post(
        "/api/auth/siwe/verify", json={"message": text, "signature": signature}, headers=headers or {}
    )
    return response


async def test_sign_in_creates_an_account_and_the_nonce_is_single_use(app: Sanic, manifest: Manifest) -> None:
    assert manifest.chain_id == 31337
    wallet = Account.create()
    text = siwe_message(wallet.address, await nonce(app))
    response = await verify(app, text, sign(wallet, text))
    assert response.status == 200, response.text
    user = response.json["data"]["user"]
    assert user["wallets"] == [wallet.address.lower()] and user["email"] is None and user["role"] == "user"

    replay = await verify(app, text, sign(wallet, text))
    assert replay.status == 401 and replay.json["error"]["details"]["reason"] == "bad_nonce"

    # Signing in again (new nonce) finds the same account.
    text2 = siwe_message(wallet.address, await nonce(app))
    again = await verify(app, text2, sign(wallet, text2))
    assert again.status == 200 and again.json["data"]["user"]["id"] == user["id"]


async def test_messages_that_must_be_refused(app: Sanic) -> None:
    wallet, other = Account.create(), Account.create()
    now = datetime.now(UTC)
    cases = {
        "wrong_domain": {"domain": "evil.example"},
        "wrong_uri": {"uri": "https://evil.example/login"},
        "wrong_chain": {"chain_id": 1},
        "expired": {"issued_at": now - timedelta(minutes=5), "expires_at": now - timedelta(seconds=1)},
        "too_old": {"issued_at": now - timedelta(hours=2)},
        "future": {"issued_at": now + timedelta(hours=1)},
    }
    expected_reason = {"too_old": "expired", "future": "not_yet_valid"}
    for name, overrides in cases.items():
        text = siwe_message(wallet.address, await nonce(app), **overrides)  # type: ignore[arg-type]
        response = await verify(app, text, sign(wallet, text))
        assert response.status == 401, (name, response.text)
        assert response.json["error"]["details"]["reason"] == expected_reason.get(name, name), name

    text = siwe_message(wallet.address, await nonce(app))
    forged = await verify(app, text, sign(other, text))  # signed by someone else
    assert forged.status == 401 and forged.json["error"]["details"]["reason"] == "bad_signature"
    unknown = siwe_message(wallet.address, "abcdef0123456789")  # a nonce the server never issued
    response = await verify(app, unknown, sign(wallet, unknown))
    assert response.status == 401 and response.json["error"]["details"]["reason"] == "bad_nonce"
    garbage = await verify(app, "hello", sign(wallet, "hello"))
    assert garbage.status == 400 and garbage.json["error"]["code"] == "invalid_input"
    malformed_sig = await verify(app, text, "0x1234")
    assert malformed_sig.status == 400


async def test_a_signed_in_user_links_a_wallet_and_cannot_take_anothers(app: Sanic) -> None:
    _, signup = await app.asgi_client.post(
        "/api/auth/signup", json={"email": "linker@example.com", "password": "long enough password"}
    )
    headers = {"Authorization": f"Bearer {signup.json['data']['access_token']}"}
    wallet = Account.create()
    text = siwe_message(wallet.address, await nonce(app))
    linked = await verify(app, text, sign(wallet, text), headers)
    assert linked.status == 200, linked.text
    assert linked.json["data"]["user"]["email"] == "linker@example.com"
    assert linked.json["data"]["user"]["wallets"] == [wallet.address.lower()]

    # Another account may not claim the same wallet.
    stranger = Account.create()
    text = siwe_message(stranger.address, await nonce(app))
    other_user = await verify(app, text, sign(stranger, text))
    other_headers = {"Authorization": f"Bearer {other_user.json['data']['access_token']}"}
    text = siwe_message(wallet.address, await nonce(app))
    taken = await verify(app, text, sign(wallet, text), other_headers)
    assert taken.status == 409 and taken.json["error"]["code"] == "conflict"
