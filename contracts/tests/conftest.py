"""Shared fixtures: accounts by role, the five contracts deployed and wired like
``anvil/deploy.py`` does, and EIP-712 signing helpers (eth-account, the keys of ape's
test accounts). Ape snapshots the chain around each test, so session-scoped deploys are
shared but every test starts from the same state."""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

CLAP, GIFT = 0, 1
FEE_BPS = 250  # router: 2.5 %
AUCTION_FEE_BPS = 500  # auction: 5 %
MIN_INCREMENT_BPS = 500
EXTENSION_WINDOW = 300
EXTENSION = 600
ROUTER_DOMAIN = ("TipRouter", "1")
PASS_DOMAIN = ("MeetingPass", "1")
BASE_URI = "https://api.example/passes/"
ONE = 10**18


def role(name: str) -> bytes:
    return keccak(text=name)


@dataclass(frozen=True)
class Intent:
    from_: str
    to: str
    token: str
    amount: int
    kind: int
    nonce: int
    deadline: int

    def as_tuple(self) -> tuple[Any, ...]:
        return astuple(self)

    def but(self, **changes: Any) -> Intent:
        return replace(self, **changes)


INTENT_TYPES = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "kind", "type": "uint8"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WITHDRAWAL_TYPES = [
    {"name": "creator", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
REDEMPTION_TYPES = [
    {"name": "tokenId", "type": "uint256"},
    {"name": "holder", "type": "address"},
    {"name": "deadline", "type": "uint256"},
]
PERMIT_TYPES = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def sign_typed(
    key: str | bytes,
    primary: str,
    types: list[dict[str, str]],
    message: dict[str, Any],
    *,
    name: str,
    version: str,
    chain_id: int,
    verifying_contract: str,
) -> bytes:
    domain = {"name": name, "version": version, "chainId": chain_id, "verifyingContract": str(verifying_contract)}
    signable = encode_typed_data(domain_data=domain, message_types={primary: types}, message_data=message)
    return bytes(Account.sign_message(signable, key).signature)


def typed_digest(
    primary: str,
    types: list[dict[str, str]],
    message: dict[str, Any],
    *,
    name: str,
    version: str,
    chain_id: int,
    verifying_contract: str,
) -> bytes:
    domain = {"name": name, "version": version, "chainId": chain_id, "verifyingContract": str(verifying_contract)}
    signable = encode_typed_data(domain_data=domain, message_types={primary: types}, message_data=message)
    return keccak(b"\x19\x01" + signable.header + signable.body)


def intent_message(intent: Intent) -> dict[str, Any]:
    return {
        "from": intent.from_,
        "to": intent.to,
        "token": intent.token,
        "amount": intent.amount,
        "kind": intent.kind,
        "nonce": intent.nonce,
        "deadline": intent.deadline,
    }


class Signer:
    """Signs the three EIP-712 messages for this chain; overrides let tests forge domains."""

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id

    def intent(
        self,
        account: Any,
        router: Any,
        intent: Intent,
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
        name: str = ROUTER_DOMAIN[0],
    ) -> bytes:
        return sign_typed(
            account.private_key,
            "Intent",
            INTENT_TYPES,
            intent_message(intent),
            name=name,
            version=ROUTER_DOMAIN[1],
            chain_id=chain_id or self.chain_id,
            verifying_contract=verifying_contract or router.address,
        )

    def intent_digest(self, router: Any, intent: Intent) -> bytes:
        return typed_digest(
            "Intent",
            INTENT_TYPES,
            intent_message(intent),
            name=ROUTER_DOMAIN[0],
            version=ROUTER_DOMAIN[1],
            chain_id=self.chain_id,
            verifying_contract=router.address,
        )

    def withdrawal(
        self,
        account: Any,
        router: Any,
        token: Any,
        amount: int,
        nonce: int,
        deadline: int,
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
        creator: Any = None,
    ) -> bytes:
        message = {
            "creator": str(creator or account.address),
            "token": str(token.address if hasattr(token, "address") else token),
            "amount": amount,
            "nonce": nonce,
            "deadline": deadline,
        }
        return sign_typed(
            account.private_key,
            "Withdrawal",
            WITHDRAWAL_TYPES,
            message,
            name=ROUTER_DOMAIN[0],
            version=ROUTER_DOMAIN[1],
            chain_id=chain_id or self.chain_id,
            verifying_contract=verifying_contract or router.address,
        )

    def redemption(
        self,
        account: Any,
        meeting_pass: Any,
        token_id: int,
        deadline: int,
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
        holder: Any = None,
    ) -> bytes:
        message = {"tokenId": token_id, "holder": str(holder or account.address), "deadline": deadline}
        return sign_typed(
            account.private_key,
            "Redemption",
            REDEMPTION_TYPES,
            message,
            name=PASS_DOMAIN[0],
            version=PASS_DOMAIN[1],
            chain_id=chain_id or self.chain_id,
            verifying_contract=verifying_contract or meeting_pass.address,
        )


@pytest.fixture(scope="session")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def relayer(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def treasury(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def fans(accounts):
    return [accounts[3], accounts[4], accounts[5]]


@pytest.fixture(scope="session")
def fan(fans):
    return fans[0]


@pytest.fixture(scope="session")
def creator(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def bidders(accounts):
    return [accounts[7], accounts[8], accounts[9]]


@pytest.fixture(scope="session")
def signer(chain):
    return Signer(chain.chain_id)


@pytest.fixture(scope="session")
def coin(project, admin, relayer):
    c = admin.deploy(project.Coin, "Creator Coin", "TK", "Creator Coin", "1")
    c.set_minter(relayer, True, sender=admin)
    return c


@pytest.fixture(scope="session")
def tki(project, admin, relayer):
    c = admin.deploy(project.Engagement, "Creator Engagement", "TKI")
    c.grantRole(role("ACCRUER_ROLE"), relayer, sender=admin)
    return c


@pytest.fixture(scope="session")
def router(project, admin, relayer, treasury, coin, tki):
    c = admin.deploy(project.TipRouter, coin, tki, treasury, FEE_BPS, *ROUTER_DOMAIN)
    c.grantRole(role("SETTLER_ROLE"), relayer, sender=admin)
    tki.grantRole(role("MOVER_ROLE"), c, sender=admin)
    return c


@pytest.fixture(scope="session")
def meeting_pass(project, admin, relayer):
    c = admin.deploy(project.MeetingPass, "Meeting Pass", "PASS", BASE_URI, *PASS_DOMAIN)
    c.grantRole(role("REDEEMER_ROLE"), relayer, sender=admin)
    return c


@pytest.fixture(scope="session")
def auction(project, admin, treasury, meeting_pass):
    c = admin.deploy(
        project.MeetingAuction, meeting_pass, treasury, AUCTION_FEE_BPS, MIN_INCREMENT_BPS, EXTENSION_WINDOW, EXTENSION
    )
    meeting_pass.grantRole(role("MINTER_ROLE"), c, sender=admin)
    return c


@pytest.fixture(scope="session")
def funded(coin, tki, router, relayer, fans):
    """Each fan holds 100 TK (approved to the router) and 100 TKI."""
    for i, f in enumerate(fans):
        coin.mint(f, 100 * ONE, (i + 1).to_bytes(32, "big"), sender=relayer)
        coin.approve(router, 2**256 - 1, sender=f)
    tki.accrue(1, list(fans), [100 * ONE] * len(fans), sender=relayer)
    return fans


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + 3600


@pytest.fixture
def make_intent(coin, tki, creator, deadline):
    counter = iter(range(1, 10**9))

    def make(fan: Any, kind: int = GIFT, amount: int = ONE, **changes: Any) -> Intent:
        token = coin if kind == GIFT else tki
        base = Intent(str(fan.address), str(creator.address), str(token.address), amount, kind, next(counter), deadline)
        return base.but(**changes)

    return make
