"""``anvil.deploy`` on a chain that is not the dev chain (a real anvil started as chain 11155111, Sepolia's id):
it refuses omitted accounts and anvil's well-known ones, sends nothing, and the CLI answers with a
message and exit status 2; given real accounts it deploys and the manifest names them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from anvil.deploy import deploy
from anvil.deploy import role as role_id
from anvil.node import free_port, rpc, start_anvil
from core.chain.devkeys import dev_keys
from core.chain.manifest import Manifest
from core.errors import ConfigError
from core.settings import ROOT
from relayer.calls import encode_call
from tests.processes import stop

SEPOLIA = 11155111


@pytest.fixture(scope="module")
def public_chain() -> Iterator[str]:
    port = free_port()
    process = start_anvil(port, chain_id=SEPOLIA)
    yield f"http://127.0.0.1:{port}"
    stop(process)


def _nonce(url: str, address: str) -> int:
    return int(str(rpc(url, "eth_getTransactionCount", [address, "pending"])), 16)


def test_omitted_accounts_are_refused_before_anything_is_sent(public_chain: str, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    with pytest.raises(ConfigError) as info:
        deploy(public_chain, out)
    message = info.value.message
    assert f"chain {SEPOLIA} is not the dev chain" in message
    assert "DEPLOYER_PRIVATE_KEY" in message and "--relayer" in message and "--treasury" in message
    with pytest.raises(ConfigError, match="--treasury"):
        deploy(public_chain, out, deployer_key=Account.create().key.to_0x_hex(), relayer=Account.create().address)
    assert not out.exists()


@pytest.mark.parametrize("index", [0, 1, 9, 29])
def test_anvils_well_known_accounts_are_refused_in_every_role(public_chain: str, tmp_path: Path, index: int) -> None:
    address, key = list(dev_keys().items())[index]
    real_key, real = Account.create().key.to_0x_hex(), Account.create().address
    for kwargs, role in (
        ({"deployer_key": key, "relayer": real, "treasury": real}, "DEPLOYER_PRIVATE_KEY"),
        ({"deployer_key": real_key, "relayer": address, "treasury": real}, "--relayer"),
        ({"deployer_key": real_key, "relayer": real, "treasury": address.lower()}, "--treasury"),
    ):
        with pytest.raises(ConfigError, match=f"{role}.*well-known development accounts") as info:
            deploy(public_chain, tmp_path / "m.json", **kwargs)  # type: ignore[arg-type]
        assert key not in info.value.message  # a key is never printed
    assert _nonce(public_chain, address) == 0  # nothing was sent from it


def test_the_cli_refuses_with_a_message_and_exit_2(public_chain: str, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    env = {**os.environ, "DEPLOYER_PRIVATE_KEY": next(iter(dev_keys().values())), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "anvil.deploy", "--rpc-url", public_chain, "--out", str(out),
         "--relayer", Account.create().address, "--treasury", "0x" + "00" * 20],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("deploy: refused:") and "Traceback" not in result.stderr
    assert "DEPLOYER_PRIVATE_KEY is one of anvil's well-known" in result.stderr
    assert "--treasury is the zero address" in result.stderr
    assert env["DEPLOYER_PRIVATE_KEY"] not in result.stderr and not out.exists()
    env.pop("DEPLOYER_PRIVATE_KEY")
    result = subprocess.run(
        [sys.executable, "-m", "anvil.deploy", "--rpc-url", public_chain, "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "give DEPLOYER_PRIVATE_KEY (environment), --relayer, --treasury" in result.stderr


def test_real_accounts_deploy_and_the_manifest_names_them(public_chain: str, tmp_path: Path) -> None:
    deployer, relayer, treasury = Account.create(), Account.create(), Account.create()
    rpc(public_chain, "anvil_setBalance", [deployer.address, hex(10**20)])
    manifest = deploy(
        public_chain, tmp_path / "m.json", deployer_key=deployer.key.to_0x_hex(),
        relayer=relayer.address, treasury=treasury.address,
    )  # fmt: skip
    assert manifest.chain_id == SEPOLIA and len(manifest.contracts) == 5
    assert manifest.roles == {"admin": deployer.address, "relayer": relayer.address, "treasury": treasury.address}
    assert (tmp_path / "m.json").exists()


def _has_role(url: str, manifest: Manifest, contract: str, fn: str, args: list[object]) -> bool:
    call = encode_call(manifest, contract, fn, args)
    return int(str(rpc(url, "eth_call", [{"to": call.to, "data": call.data}, "latest"])), 16) == 1


def test_every_key_of_the_relayers_signer_pool_gets_every_relayer_role(public_chain: str, tmp_path: Path) -> None:
    deployer, relayer, treasury = Account.create(), Account.create(), Account.create()
    others = [Account.create().address for _ in range(3)]
    rpc(public_chain, "anvil_setBalance", [deployer.address, hex(10**20)])
    with pytest.raises(ConfigError, match=r"--pool-relayer.*well-known"):
        deploy(public_chain, tmp_path / "m.json", deployer_key=deployer.key.to_0x_hex(), relayer=relayer.address,
               treasury=treasury.address, pool=[others[0], list(dev_keys())[6]])  # fmt: skip
    manifest = deploy(
        public_chain, tmp_path / "m.json", deployer_key=deployer.key.to_0x_hex(),
        relayer=relayer.address, treasury=treasury.address, pool=others,
    )  # fmt: skip
    assert [manifest.roles[f"relayer_pool_{i}"] for i in (1, 2, 3)] == others
    for address in [relayer.address, *others]:
        assert _has_role(public_chain, manifest, "Coin", "is_minter", [address])
        for contract, name in (("Engagement", "ACCRUER_ROLE"), ("TipRouter", "SETTLER_ROLE"),
                               ("MeetingPass", "REDEEMER_ROLE")):  # fmt: skip
            assert _has_role(public_chain, manifest, contract, "hasRole", [role_id(name), address]), (contract, address)
    assert not _has_role(public_chain, manifest, "Coin", "is_minter", [treasury.address])


def test_the_cli_says_when_the_node_cannot_be_reached(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "anvil.deploy", "--rpc-url", url, "--out", str(tmp_path / "m.json")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 1 and f"deploy: cannot reach {url}" in result.stderr
    assert "Traceback" not in result.stderr
