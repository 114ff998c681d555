"""Anvil's well-known development accounts: the public "test test ... junk" mnemonic.

Anyone can sign with these keys, on any chain: they are refused wherever a real chain is meant
(``anvil.deploy`` off the dev chain, the relayer's signer outside development).
"""

from __future__ import annotations

from functools import cache

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337
DEV_ACCOUNTS = 30  # anvil creates 10 by default; `--accounts N` more, all from the same mnemonic


@cache
def dev_keys() -> dict[str, str]:
    """Checksummed address -> 0x private key, for the mnemonic's first DEV_ACCOUNTS accounts."""
    seed = seed_from_mnemonic(DEV_MNEMONIC, passphrase="")
    keys: dict[str, str] = {}
    for index in range(DEV_ACCOUNTS):
        account = Account.from_key(key_from_seed(seed, f"m/44'/60'/0'/0/{index}"))
        keys[account.address] = account.key.to_0x_hex()
    return keys


def is_dev_address(address: str) -> bool:
    return address.lower() in {a.lower() for a in dev_keys()}


def is_dev_key(key: str) -> bool:
    normalized = key.lower() if key.startswith("0x") else "0x" + key.lower()
    return normalized in set(dev_keys().values())
