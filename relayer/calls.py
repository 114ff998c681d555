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


def _canonical(param: dict[str, Any]) -> str:
    """The ABI type of a parameter as a signature spells it (tuples expanded)."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in param["components"]) + ")" + kind.removeprefix("tuple")
    return kind


def _selector_and_types(abi: list[dict[str, Any]], name: str) -> tuple[bytes, list[str]]:
    for item in abi:
        if item.get("type") == "function" and item.get("name") == name:
            types = [_canonical(p) for p in item["inputs"]]
            return function_signature_to_4byte_selector(f"{name}({','.join(types)})"), types
    raise InvalidInput(f"the ABI has no function {name}")


_ENCODERS: dict[tuple[int, str, str], tuple[str, bytes, list[str]]] = {}


def encode_call(manifest: Manifest, contract: str, function: str, args: list[Any]) -> Call:
    key = (id(manifest), contract, function)  # address, selector and types computed once per manifest
    if (known := _ENCODERS.get(key)) is None:
        deployed = manifest.contract(contract)
        selector, types = _selector_and_types(deployed.abi, function)
        known = _ENCODERS[key] = (to_checksum_address(deployed.address), selector, types)
    to, selector, types = known
    return Call(to=to, data="0x" + (selector + abi_encode(types, args)).hex())


def _bytes32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise InvalidInput("payment_ref must be 32 bytes of hex")
    return raw


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


_NO_PERMIT = (0, 0, 0, b"\x00" * 32, b"\x00" * 32)  # TipRouter.Permit with deadline 0: none


def _permit(permit: dict[str, str] | None) -> tuple[object, ...]:
    """A TipRouter.Permit (value, deadline, v, r, s) from the payload's 65-byte signature."""
    if permit is None:
        return _NO_PERMIT
    raw = _hex(permit["signature"])
    return (int(permit["value"]), int(permit["deadline"]), raw[64], raw[:32], raw[32:64])


def _intent(intent: dict[str, str]) -> tuple[object, ...]:
    return (
        intent["from"],
        intent["to"],
        intent["token"],
        int(intent["amount"]),
        int(intent["kind"]),
        int(intent["nonce"]),
        int(intent["deadline"]),
    )


def build_call(manifest: Manifest, kind: str, payload: dict[str, Any]) -> Call:
    """The call of a request; payloads were validated when they were enqueued."""
    p = payload
    if kind == "mint":
        return encode_call(manifest, "Coin", "mint", [p["to"], int(p["amount"]), _bytes32(p["payment_ref"])])
    if kind == "accrue":
        args = [int(p["epoch"]), p["accounts"], [int(a) for a in p["amounts"]]]
        return encode_call(manifest, "Engagement", "accrue", args)
    if kind == "end_auction":
        return encode_call(manifest, "MeetingAuction", "end_auction", [int(p["auction_id"])])
    if kind == "settle":
        args = [[_intent(i) for i in p["intents"]], [_hex(s) for s in p["signatures"]]]
        if p.get("permits"):
            args.append([_permit(permit) for permit in p["permits"]])
            return encode_call(manifest, "TipRouter", "settle_with_permits", args)
        return encode_call(manifest, "TipRouter", "settle", args)
    if kind == "burn_pass":
        args = [int(p["token_id"]), p["holder"], int(p["deadline"]), _hex(p["signature"])]
        return encode_call(manifest, "MeetingPass", "burn_for_access", args)
    if kind == "withdraw_for":
        args = [p["creator"], p["token"], int(p["amount"]), int(p["nonce"]), int(p["deadline"]), _hex(p["signature"])]
        return encode_call(manifest, "TipRouter", "withdraw_for", args)
    raise InvalidInput(f"request kind {kind!r} is not supported")
