"""Turns a queued request (kind + payload) into the contract call it stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from core.chain.manifest import Manifest
from core.errors import InvalidInput


@dataclass(frozen=True)
class Call:
    to: str
    data: str


def _selector_and_types(abi: list[dict[str, Any]], name: str) -> tuple[bytes, list[str]]:
    for item in abi:
        if item.get("type") == "function" and item.get("name") == name:
            types = [p["type"] for p in item["inputs"]]
            return function_signature_to_4byte_selector(f"{name}({','.join(types)})"), types
    raise InvalidInput(f"the ABI has no function {name}")


def encode_call(manifest: Manifest, contract: str, function: str, args: list[Any]) -> Call:
    deployed = manifest.contract(contract)
    selector, types = _selector_and_types(deployed.abi, function)
    return Call(to=to_checksum_address(deployed.address), data="0x" + (selector + abi_encode(types, args)).hex())


def _bytes32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise InvalidInput("payment_ref must be 32 bytes of hex")
    return raw


def build_call(manifest: Manifest, kind: str, payload: dict[str, Any]) -> Call:
    """The call of a request; payloads were validated when they were enqueued."""
    if kind == "mint":
        return encode_call(
            manifest, "Coin", "mint", [payload["to"], int(payload["amount"]), _bytes32(payload["payment_ref"])]
        )
    raise InvalidInput(f"request kind {kind!r} is not supported yet")
