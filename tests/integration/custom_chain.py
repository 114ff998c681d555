"""Helpers for the configured-contract tests: compile and deploy the probe contracts, write a
contracts configuration, and build an indexer that reads it."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from indexer.app import Indexer
from indexer.custom import custom_store
from indexer.projections import Projections
from indexer.store import QUERIES
from indexer.store import Store as IndexerStore
from tests.integration.helpers import DEPLOYER

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"


@functools.cache
def compiled(name: str) -> tuple[list[dict[str, Any]], str]:
    vyper = str(Path(sys.executable).parent / "vyper")
    out = subprocess.run([vyper, "-f", "abi,bytecode", str(CONTRACTS / f"{name}.vy")],
                         check=True, capture_output=True, text=True).stdout.splitlines()  # fmt: skip
    return json.loads(out[0]), out[1].strip()


def receipt_of(url: str, tx: object) -> dict[str, Any]:
    for _ in range(250):
        receipt = rpc(url, "eth_getTransactionReceipt", [tx])
        if isinstance(receipt, dict):
            assert receipt["status"] == "0x1", receipt
            return receipt
        time.sleep(0.02)
    raise TimeoutError(str(tx))


def deploy(url: str, name: str, *args: Any, types: tuple[str, ...] = ()) -> tuple[str, int]:
    """Deploy a test contract from the unlocked deployer; (address, block)."""
    _, bytecode = compiled(name)
    data = bytecode + (encode(list(types), list(args)).hex() if types else "")
    receipt = receipt_of(url, rpc(url, "eth_sendTransaction", [{"from": DEPLOYER, "data": data}]))
    return receipt["contractAddress"].lower(), int(receipt["blockNumber"], 16)


def send(url: str, to: str, signature: str, types: list[str], args: list[Any]) -> dict[str, Any]:
    """Call ``signature`` on ``to`` from the deployer and wait for the receipt."""
    data = "0x" + (function_signature_to_4byte_selector(signature) + encode(types, args)).hex()
    return receipt_of(url, rpc(url, "eth_sendTransaction", [{"from": DEPLOYER, "to": to, "data": data}]))


def write_config(tmp: Path, contracts: list[dict[str, Any]]) -> Path:
    """A TOML contracts configuration; each entry's ``abi`` is a contract name, written as a file."""
    lines = []
    for entry in contracts:
        abi_file = tmp / f"{entry['abi']}.json"
        abi_file.write_text(json.dumps(compiled(entry["abi"])[0]))
        lines.append("[[contracts]]")
        for key, value in {**entry, "abi": abi_file.name}.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
    path = tmp / "contracts.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def custom_indexer(manifest: Manifest, pool: asyncpg.Pool, client: RpcClient, config: Path, **kwargs: int) -> Indexer:
    store = IndexerStore(
        pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES), custom_store(config, manifest)
    )
    return Indexer(manifest, store, client, **kwargs)
