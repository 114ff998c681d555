"""Deploys the contracts from the committed artifacts and writes the deployment manifest.

``python -m anvil.deploy --rpc-url URL --out var/deployment.json``. The deployer key signs;
roles go to the relayer account and to every other key of its signer pool (``--pool-relayer``, repeated;
on the dev chain anvil accounts #6-#8 by default); fees go to the treasury. On the dev chain (anvil, chain id 31337)
each defaults to one of anvil's mnemonic accounts; on any other chain all three must be given and
none may be a well-known development account (``check_accounts``): the refusal is a message and
exit status 2, before anything is sent. Each step of ``PLAN`` deploys one
contract (its constructor args may refer to contracts deployed before it) and then makes the
role grants it lists: ``"fn"`` calls the contract just deployed, ``"Other.fn"`` a contract
deployed before it (e.g. giving the new TipRouter the Engagement token's mover role).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxParams, TxReceipt

from anvil.accounts import DeployAccounts, check_accounts
from anvil.node import DEPLOYER_KEY, POOL_KEYS, RELAYER_KEY, TREASURY_ADDRESS
from core.chain.devkeys import DEV_CHAIN_ID
from core.chain.manifest import DeployedContract, Manifest, load_artifact, write_manifest
from core.errors import ConfigError
from core.settings import DEFAULT_MANIFEST

log = logging.getLogger("deploy")


@dataclass
class Context:
    """What a plan step can refer to: the accounts and the contracts deployed so far."""

    deployer: str
    relayer: str
    treasury: str
    addresses: dict[str, str] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)

    @property
    def relayers(self) -> list[str]:
        """Every signer of the relayer's pool (the default first): each gets every relayer role."""
        return [self.relayer, *self.pool]


Args = Callable[[Context], list[Any]]
Grants = Callable[[Context], list[tuple[str, list[Any]]]]


@dataclass(frozen=True)
class Step:
    contract: str
    args: Args
    grants: Grants = lambda ctx: []


def role(name: str) -> bytes:
    """An access_control role id: keccak256 of its name, as the contracts define them."""
    return bytes(Web3.keccak(text=name))


TIP_FEE_BPS = 250  # TipRouter platform fee: 2.5 % of each tip (max 3000)
AUCTION_FEE_BPS = 500  # MeetingAuction platform fee: 5 % of the winning bid (max 3000)
MIN_INCREMENT_BPS = 500  # a new bid must beat the highest by 5 % (at least 1 wei)
EXTENSION_WINDOW_S = 300  # a bid in the last 5 minutes ...
EXTENSION_S = 600  # ... moves the end to 10 minutes after that bid

PLAN: list[Step] = [
    Step(
        "Coin",
        args=lambda ctx: ["Creator Coin", "TK", "Creator Coin", "1"],
        grants=lambda ctx: [("set_minter", [r, True]) for r in ctx.relayers],
    ),
    Step(
        "Engagement",
        args=lambda ctx: ["Creator Engagement", "TKI"],
        grants=lambda ctx: [("grantRole", [role("ACCRUER_ROLE"), r]) for r in ctx.relayers],
    ),
    Step(
        "TipRouter",
        args=lambda ctx: [
            ctx.addresses["Coin"],
            ctx.addresses["Engagement"],
            ctx.treasury,
            TIP_FEE_BPS,
            "TipRouter",
            "1",
        ],
        grants=lambda ctx: [
            *(("grantRole", [role("SETTLER_ROLE"), r]) for r in ctx.relayers),
            ("Engagement.grantRole", [role("MOVER_ROLE"), ctx.addresses["TipRouter"]]),
        ],
    ),
    Step(
        "MeetingPass",
        args=lambda ctx: ["Meeting Pass", "PASS", "", "MeetingPass", "1"],
        grants=lambda ctx: [("grantRole", [role("REDEEMER_ROLE"), r]) for r in ctx.relayers],
    ),
    Step(
        "MeetingAuction",
        args=lambda ctx: [
            ctx.addresses["MeetingPass"],
            ctx.treasury,
            AUCTION_FEE_BPS,
            MIN_INCREMENT_BPS,
            EXTENSION_WINDOW_S,
            EXTENSION_S,
        ],
        grants=lambda ctx: [("MeetingPass.grantRole", [role("MINTER_ROLE"), ctx.addresses["MeetingAuction"]])],
    ),
]

ROLES: dict[str, Callable[[Context], str]] = {
    "admin": lambda ctx: ctx.deployer,
    "relayer": lambda ctx: ctx.relayer,
    "treasury": lambda ctx: ctx.treasury,
}


class Deployer:
    def __init__(self, w3: Web3, account: LocalAccount) -> None:
        self.w3 = w3
        self.account = account
        self.chain_id = w3.eth.chain_id
        self.nonce: int = w3.eth.get_transaction_count(account.address, "pending")

    def send(self, params: TxParams) -> TxReceipt:
        tx: dict[str, Any] = {**params, "from": self.account.address, "nonce": self.nonce, "chainId": self.chain_id}
        tx.setdefault("gas", int(self.w3.eth.estimate_gas(tx) * 1.2))  # type: ignore[arg-type]
        latest = self.w3.eth.get_block("latest")
        base_fee = int(latest.get("baseFeePerGas", 0))
        tx.setdefault("maxPriorityFeePerGas", 10**9)
        tx.setdefault("maxFeePerGas", 2 * base_fee + 10**9)
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.nonce += 1
        receipt = self._wait(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
        return receipt

    def _wait(self, tx_hash: bytes, timeout: float = 60.0) -> TxReceipt:
        # Right after sending, anvil may answer null for the receipt: poll.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                time.sleep(0.05)
        raise TimeoutError(f"no receipt for {tx_hash.hex()} after {timeout}s")


def deploy(
    rpc_url: str,
    out: Path,
    *,
    deployer_key: str | None = None,
    relayer: str | None = None,
    treasury: str | None = None,
    pool: Sequence[str] | None = None,
) -> Manifest:
    """Deploy everything; off the dev chain, ``ConfigError`` unless every account is explicit and real.

    ``pool``: the relayer's other signers (None: on the dev chain anvil accounts #6-#8, elsewhere none).
    """
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    chain_id = w3.eth.chain_id
    if pool is None:
        pool = [Account.from_key(k).address for k in POOL_KEYS] if chain_id == DEV_CHAIN_ID else []
    given = check_accounts(
        chain_id,
        DeployAccounts(deployer_key=deployer_key, relayer=relayer, treasury=treasury, pool=tuple(pool)),
    )
    account: LocalAccount = Account.from_key(given.deployer_key or DEPLOYER_KEY)
    relayer_address = given.relayer or Account.from_key(RELAYER_KEY).address
    ctx = Context(
        account.address,
        Web3.to_checksum_address(relayer_address),
        Web3.to_checksum_address(given.treasury or TREASURY_ADDRESS),
    )
    ctx.pool = [a for a in dict.fromkeys(Web3.to_checksum_address(a) for a in given.pool) if a != ctx.relayer]
    deployer = Deployer(w3, account)
    contracts: dict[str, DeployedContract] = {}
    first_block: int | None = None
    for step in PLAN:
        artifact = load_artifact(step.contract)
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = deployer.send(factory.constructor(*step.args(ctx)).build_transaction({"from": account.address}))
        address = receipt["contractAddress"]
        assert address is not None
        ctx.addresses[step.contract] = address
        block = receipt["blockNumber"]
        first_block = block if first_block is None else first_block
        contracts[step.contract] = DeployedContract(
            address=address, abi=artifact["abi"], deploy_block=block, tx_hash=receipt["transactionHash"].to_0x_hex()
        )
        for target, fn_args in step.grants(ctx):
            name, _, function = target.rpartition(".")
            name = name or step.contract
            instance = w3.eth.contract(
                address=Web3.to_checksum_address(ctx.addresses[name]), abi=load_artifact(name)["abi"]
            )
            deployer.send(getattr(instance.functions, function)(*fn_args).build_transaction({"from": account.address}))
        log.info("deployed %-14s at %s (block %d)", step.contract, address, block)
    genesis = w3.eth.get_block(0)
    manifest = Manifest(
        chain_id=deployer.chain_id,
        genesis_hash=genesis["hash"].to_0x_hex(),
        deploy_block=first_block or 0,
        contracts=contracts,
        roles={
            **{role: pick(ctx) for role, pick in ROLES.items()},
            **{f"relayer_pool_{i}": address for i, address in enumerate(ctx.pool, 1)},
        },
    )
    write_manifest(manifest, out)
    log.info("wrote deployment manifest %s", out)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc-url", default="http://127.0.0.1:8545")
    parser.add_argument("--out", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument(
        "--relayer",
        help="address that gets every relayer role (minter, accruer, settler, redeemer); "
        "required off the dev chain (default there: anvil account #1)",
    )
    parser.add_argument(
        "--pool-relayer",
        action="append",
        dest="pool",
        metavar="ADDRESS",
        help="another key of the relayer's signer pool: it gets the same roles (repeat for each key; "
        "default on the dev chain: anvil accounts #6-#8, elsewhere none)",
    )
    parser.add_argument(
        "--treasury", help="address that receives platform fees; required off the dev chain (default there: #2)"
    )
    args = parser.parse_args()
    # The deployer key comes from the environment only, never from the command line.
    deployer_key = os.environ.get("DEPLOYER_PRIVATE_KEY") or None
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s deploy  %(levelname)-5s %(message)s", datefmt="%H:%M:%S"
    )
    try:
        deploy(
            args.rpc_url,
            args.out,
            deployer_key=deployer_key,
            relayer=args.relayer,
            treasury=args.treasury,
            pool=args.pool,
        )
    except ConfigError as exc:
        print(f"deploy: refused: {exc.message}", file=sys.stderr)  # noqa: T201 (the CLI's answer)
        sys.exit(2)
    except (OSError, requests.RequestException) as exc:
        print(f"deploy: cannot reach {args.rpc_url}: {type(exc).__name__}", file=sys.stderr)  # noqa: T201
        sys.exit(1)


if __name__ == "__main__":
    main()
