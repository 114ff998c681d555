"""The request kinds: each kind's payload validator (what ``relayer/calls.py`` relies on) and key builder.

A validator returns the canonical payload (addresses and hex lower-cased, integers as decimal strings)
or raises :class:`InvalidInput`. A key builder spells the idempotency key a producer enqueues under.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
MAX_UINT256 = 2**256 - 1
MAX_ACCRUALS = 512  # Engagement.MAX_ACCRUALS
MAX_BATCH = 256  # TipRouter.MAX_BATCH


def _address(value: object, field: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise InvalidInput(f"{field} must be a 0x-prefixed 20-byte address")
    return value.lower()


def _uint(value: object, field: str, *, minimum: int = 0, maximum: int = MAX_UINT256) -> str:
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be an integer")
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be an integer") from None
    if not minimum <= number <= maximum:
        raise InvalidInput(f"{field} must be in {minimum}..{maximum}")
    return str(number)


def _signature(value: object, field: str) -> str:
    if not isinstance(value, str) or not _SIGNATURE.match(value):
        raise InvalidInput(f"{field} must be a 0x-prefixed 65-byte signature")
    return value.lower()


def _list(value: object, field: str, maximum: int) -> list[Any]:
    if not isinstance(value, list) or not 0 < len(value) <= maximum:
        raise InvalidInput(f"{field} must be a list of 1..{maximum} items")
    return value


def validate_mint(payload: dict[str, Any]) -> dict[str, Any]:
    to, ref = _address(payload.get("to"), "mint.to"), payload.get("payment_ref")
    amount = _uint(payload.get("amount"), "mint.amount", minimum=1)
    if not isinstance(ref, str) or not _BYTES32.match(ref) or int(ref, 16) == 0:
        raise InvalidInput("mint.payment_ref must be a non-zero 0x-prefixed 32-byte hex string")
    return {"to": to, "amount": amount, "payment_ref": ref.lower()}


def validate_accrue(payload: dict[str, Any]) -> dict[str, Any]:
    accounts = _list(payload.get("accounts"), "accrue.accounts", MAX_ACCRUALS)
    amounts = _list(payload.get("amounts"), "accrue.amounts", MAX_ACCRUALS)
    if len(accounts) != len(amounts):
        raise InvalidInput("accrue.accounts and accrue.amounts must have the same length")
    return {
        "epoch": _uint(payload.get("epoch"), "accrue.epoch"),
        "accounts": [_address(a, "accrue.accounts[]") for a in accounts],
        "amounts": [_uint(a, "accrue.amounts[]") for a in amounts],
    }


def validate_end_auction(payload: dict[str, Any]) -> dict[str, Any]:
    return {"auction_id": _uint(payload.get("auction_id"), "end_auction.auction_id")}


def _intent(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInput("settle.intents[] must be objects")
    intent = {f: _address(value.get(f), f"intent.{f}") for f in ("from", "to", "token")}
    intent["amount"] = _uint(value.get("amount"), "intent.amount", minimum=1)
    intent["kind"] = _uint(value.get("kind"), "intent.kind", maximum=255)
    intent["nonce"] = _uint(value.get("nonce"), "intent.nonce")
    intent["deadline"] = _uint(value.get("deadline"), "intent.deadline")
    return intent


def _permit(value: object) -> dict[str, str] | None:
    """A gift's EIP-2612 permit (value, deadline, 65-byte signature), or None for no permit."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("settle.permits[] must be objects or null")
    return {
        "value": _uint(value.get("value"), "permit.value"),
        "deadline": _uint(value.get("deadline"), "permit.deadline", minimum=1),
        "signature": _signature(value.get("signature"), "permit.signature"),
    }


def validate_settle(payload: dict[str, Any]) -> dict[str, Any]:
    """``permits`` (optional, one per intent, null for none) makes it ``TipRouter.settle_with_permits``;
    a batch without any permit is canonicalised without the key (the plain ``settle``)."""
    intents = _list(payload.get("intents"), "settle.intents", MAX_BATCH)
    signatures = _list(payload.get("signatures"), "settle.signatures", MAX_BATCH)
    if len(intents) != len(signatures):
        raise InvalidInput("settle.intents and settle.signatures must have the same length")
    result: dict[str, Any] = {
        "intents": [_intent(i) for i in intents],
        "signatures": [_signature(s, "settle.signatures[]") for s in signatures],
    }
    if payload.get("permits") is not None:
        permits = _list(payload.get("permits"), "settle.permits", MAX_BATCH)
        if len(permits) != len(intents):
            raise InvalidInput("settle.intents and settle.permits must have the same length")
        checked = [_permit(p) for p in permits]
        if any(p is not None for p in checked):
            result["permits"] = checked
    return result


def validate_burn_pass(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "token_id": _uint(payload.get("token_id"), "burn_pass.token_id"),
        "holder": _address(payload.get("holder"), "burn_pass.holder"),
        "deadline": _uint(payload.get("deadline"), "burn_pass.deadline"),
        "signature": _signature(payload.get("signature"), "burn_pass.signature"),
    }


def validate_withdraw_for(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "creator": _address(payload.get("creator"), "withdraw_for.creator"),
        "token": _address(payload.get("token"), "withdraw_for.token"),
        "amount": _uint(payload.get("amount"), "withdraw_for.amount", minimum=1),
        "nonce": _uint(payload.get("nonce"), "withdraw_for.nonce"),
        "deadline": _uint(payload.get("deadline"), "withdraw_for.deadline"),
        "signature": _signature(payload.get("signature"), "withdraw_for.signature"),
    }


def mint_key(payment_ref: str) -> str:
    """One mint per payment (the API's webhook and ``python -m relayer enqueue-mint`` agree on it)."""
    return f"mint:{payment_ref}"


def accrue_key(chain_id: int, epoch: int) -> str:
    return f"accrue:{chain_id}:{epoch}"


def end_auction_key(chain_id: int, auction_id: int, attempt: int = 0) -> str:
    """``attempt`` > 0 after every earlier request for the auction failed."""
    key = f"end_auction:{chain_id}:{auction_id}"
    return f"{key}:{attempt}" if attempt else key


def settle_key(digests: list[str], tries: list[int] | None = None) -> str:
    """A settle batch: the same intents (and tries) always make the same key."""
    parts = sorted(f"{d}:{t}" for d, t in zip(digests, tries or [0] * len(digests), strict=True))
    return "settle:" + hashlib.sha256(",".join(parts).encode()).hexdigest()[:40]


def burn_pass_key(chain_id: int, token_id: object, attempt: int) -> str:
    return f"burn_pass:{chain_id}:{token_id}:{attempt}"


def withdraw_for_key(creator: str, nonce: object) -> str:
    return f"withdraw_for:{creator}:{nonce}"


@dataclass(frozen=True)
class Kind:
    name: str
    validate: Callable[[dict[str, Any]], dict[str, Any]]
    key: Callable[..., str]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("mint", validate_mint, mint_key),
        Kind("accrue", validate_accrue, accrue_key),
        Kind("end_auction", validate_end_auction, end_auction_key),
        Kind("settle", validate_settle, settle_key),
        Kind("burn_pass", validate_burn_pass, burn_pass_key),
        Kind("withdraw_for", validate_withdraw_for, withdraw_for_key),
    )
}
