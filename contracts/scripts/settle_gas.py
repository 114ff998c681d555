"""Gas of TipRouter.settle per intent, for batches of 1, 10 and 100 intents.

``ape run settle_gas`` (from contracts/; add ``--network ethereum:local:foundry`` for anvil)
deploys Coin, Engagement and TipRouter on the local test chain and settles batches of
gifts (TK, with allowance) and claps (TKI, no allowance). Every intent comes from a fresh
fan (cold storage, the realistic worst case) to one creator. ``tests/test_gas.py`` runs the
same measurement and checks bounds.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

INTENT_TYPES = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "kind", "type": "uint8"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
PERMIT_TYPES = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
SIZES = (1, 10, 100)
ONE = 10**18


def _sign(  # noqa: PLR0917 (mirrors the EIP-712 domain fields)
    key: bytes,
    primary: str,
    types: list[dict[str, str]],
    message: dict[str, Any],
    name: str,
    chain_id: int,
    contract: str,
) -> bytes:
    domain = {"name": name, "version": "1", "chainId": chain_id, "verifyingContract": contract}
    signable = encode_typed_data(domain_data=domain, message_types={primary: types}, message_data=message)
    return bytes(Account.sign_message(signable, key).signature)


def deploy(project: Any, accounts: Any) -> dict[str, Any]:
    admin, relayer, treasury, creator = accounts[0], accounts[1], accounts[2], accounts[6]
    coin = admin.deploy(project.Coin, "Creator Coin", "TK", "Creator Coin", "1")
    coin.set_minter(relayer, True, sender=admin)
    tki = admin.deploy(project.Engagement, "Creator Engagement", "TKI")
    tki.grantRole(keccak(text="ACCRUER_ROLE"), relayer, sender=admin)
    router = admin.deploy(project.TipRouter, coin, tki, treasury, 250, "TipRouter", "1")
    router.grantRole(keccak(text="SETTLER_ROLE"), relayer, sender=admin)
    tki.grantRole(keccak(text="MOVER_ROLE"), router, sender=admin)
    return {"coin": coin, "tki": tki, "router": router, "relayer": relayer, "creator": creator}


def measure(project: Any, accounts: Any, chain: Any, kind: int, sizes: tuple[int, ...] = SIZES) -> dict[int, int]:
    """{batch size: settle gas / intent} for gifts (kind 1) or claps (kind 0)."""
    c = deploy(project, accounts)
    coin, tki, router, relayer, creator = c["coin"], c["tki"], c["router"], c["relayer"], c["creator"]
    deadline = chain.pending_timestamp + 86_400
    fans = [Account.create() for _ in range(sum(sizes))]
    if kind == 0:
        tki.accrue(1, [f.address for f in fans], [ONE] * len(fans), sender=relayer)
    else:
        for i, f in enumerate(fans):
            coin.mint(f.address, ONE, (i + 1).to_bytes(32, "big"), sender=relayer)
            sig = _sign(
                f.key,
                "Permit",
                PERMIT_TYPES,
                {"owner": f.address, "spender": str(router.address), "value": ONE, "nonce": 0, "deadline": deadline},
                "Creator Coin",
                chain.chain_id,
                str(coin.address),
            )
            coin.permit(f.address, router, ONE, deadline, sig[64], sig[:32], sig[32:64], sender=relayer)
    token = str(tki.address if kind == 0 else coin.address)
    # Batches run in order 1, 10, 100: the batch of 1 also pays for creating the creator's
    # and treasury's earnings slots and the router's token balance (first tip ever).
    results: dict[int, int] = {}
    start = 0
    for size in sizes:
        batch = fans[start : start + size]
        start += size
        intents, sigs = [], []
        for f in batch:
            message = {
                "from": f.address,
                "to": str(creator.address),
                "token": token,
                "amount": ONE // 2,
                "kind": kind,
                "nonce": 1,
                "deadline": deadline,
            }
            intents.append(tuple(message.values()))
            sigs.append(_sign(f.key, "Intent", INTENT_TYPES, message, "TipRouter", chain.chain_id, str(router.address)))
        tx = router.settle(intents, sigs, sender=relayer)
        assert len(list(tx.events.filter(router.IntentSettled))) == size
        results[size] = tx.gas_used // size
    return results


def main() -> None:
    from ape import accounts, chain, project

    test_accounts = accounts.test_accounts
    print(f"network: {chain.provider.network.name}:{chain.provider.name}, chain id {chain.chain_id}")
    for kind, label in ((1, "gift (TK)"), (0, "clap (TKI)")):
        snapshot = chain.snapshot()
        figures = measure(project, test_accounts, chain, kind)
        chain.restore(snapshot)
        line = ", ".join(f"{size:>3} intents: {gas:>6} gas/intent" for size, gas in figures.items())
        print(f"settle {label:<10} {line}")
