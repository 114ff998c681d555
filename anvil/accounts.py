"""Which accounts a deploy uses, and the refusal of anvil's well-known ones off the dev chain.

On the dev chain (anvil, chain id 31337) an omitted account falls back to anvil's mnemonic
accounts. On any other chain the deployer key (it becomes the admin of every contract), the
relayer (it gets every operational role: Coin minter, Engagement accruer, TipRouter settler,
MeetingPass redeemer; so does every other key of its signer pool) and the treasury (platform
fees) must all be given, and none may be one of the mnemonic's first accounts
(``core.chain.devkeys``) nor the zero address: anyone holds those keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from web3 import Web3

from core.chain.devkeys import DEV_ACCOUNTS, DEV_CHAIN_ID, is_dev_address, is_dev_key
from core.errors import ConfigError

ZERO_ADDRESS = "0x" + "0" * 40


@dataclass(frozen=True)
class DeployAccounts:
    deployer_key: str | None = None
    relayer: str | None = None
    treasury: str | None = None
    pool: tuple[str, ...] = ()  # the relayer's other signers (README "Relayer": the signer pool)


def check_accounts(chain_id: int, given: DeployAccounts) -> DeployAccounts:
    """``given`` if it may deploy on ``chain_id``; else ConfigError naming every problem (never a key)."""
    problems: list[str] = []
    named = [("relayer", given.relayer), ("treasury", given.treasury), *(("pool-relayer", a) for a in given.pool)]
    for name, value in named:
        if value is not None and not Web3.is_address(value):
            problems.append(f"--{name} is not an address")
    deployer_address = None
    if given.deployer_key is not None:
        try:
            deployer_address = Account.from_key(given.deployer_key).address
        except (ValueError, TypeError):
            problems.append("DEPLOYER_PRIVATE_KEY is not a valid private key")
    if chain_id == DEV_CHAIN_ID or problems:
        if problems:
            raise ConfigError("; ".join(problems))
        return given
    where = f"chain {chain_id} is not the dev chain ({DEV_CHAIN_ID})"
    missing = [
        label
        for label, value in (
            ("DEPLOYER_PRIVATE_KEY (environment)", given.deployer_key),
            ("--relayer", given.relayer),
            ("--treasury", given.treasury),
        )
        if value is None
    ]
    if missing:
        problems.append(f"{where}: give {', '.join(missing)} explicitly (no development defaults here)")
    known = f"one of anvil's well-known development accounts (mnemonic 'test test ... junk', first {DEV_ACCOUNTS})"
    if given.deployer_key is not None and (is_dev_key(given.deployer_key) or is_dev_address(deployer_address or "")):
        problems.append(f"DEPLOYER_PRIVATE_KEY is {known}")
    for name, value in named:
        if value is not None and is_dev_address(value):
            problems.append(f"--{name} {value} is {known}")
        elif value is not None and value.lower() == ZERO_ADDRESS:
            problems.append(f"--{name} is the zero address")
    if problems:
        raise ConfigError("; ".join(problems))
    return given
