"""The tipping pieces that need no chain: EIP-712 digests (against eth-account's encoder), the
contract's signature rules, and the approval policy as a pure function."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from core.chain.eip712 import (
    INTENT_TYPES,
    WITHDRAWAL_TYPES,
    Domain,
    decode_domain,
    intent_digest,
    intent_message,
    recover,
    withdrawal_digest,
)
from core.tips_policy import Caps, Facts, Ledger, record, refusal
from relayer.jobs.intents import batch_key

DOMAIN = Domain("TipRouter", "1", 31337, "0x" + "12" * 20)
FAN = Account.create()
TKI, TK = "0x" + "0e" * 20, "0x" + "0c" * 20
TOKENS = {0: TKI, 1: TK}
HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _intent(**changes: Any) -> dict[str, Any]:
    base = {"from": FAN.address.lower(), "to": "0x" + "cc" * 20, "token": TK, "amount": 10, "kind": 1, "nonce": 5,
            "deadline": 2_000_000_000}  # fmt: skip
    return {**base, **changes}


def _signable(primary: str, types: list[dict[str, str]], message: dict[str, Any]) -> Any:
    return encode_typed_data(domain_data=DOMAIN.as_dict(), message_types={primary: types}, message_data=message)


def test_digests_match_eth_accounts_typed_data_encoder() -> None:
    intent = _intent()
    signable = _signable("Intent", INTENT_TYPES, intent_message(intent))
    assert intent_digest(DOMAIN, intent) == keccak(b"\x19\x01" + signable.header + signable.body)
    w = {"creator": FAN.address, "token": TK, "amount": 3, "nonce": 9, "deadline": 7}
    signable = _signable("Withdrawal", WITHDRAWAL_TYPES, w)
    assert withdrawal_digest(DOMAIN, w) == keccak(b"\x19\x01" + signable.header + signable.body)
    assert intent_digest(DOMAIN, _intent(nonce=6)) != intent_digest(DOMAIN, intent)


def test_recover_applies_the_contracts_signature_rules() -> None:
    intent = _intent()
    signature = Account.sign_message(_signable("Intent", INTENT_TYPES, intent_message(intent)), FAN.key).signature
    digest = intent_digest(DOMAIN, intent)
    assert recover(digest, "0x" + signature.hex()) == FAN.address.lower()
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    assert s <= HALF_N
    malleable = r + (N - s).to_bytes(32, "big") + bytes([55 - v])  # the same point, high s: the contract refuses it
    assert recover(digest, "0x" + malleable.hex()) is None
    assert recover(digest, "0x" + (signature[:64] + bytes([v - 27])).hex()) is None  # v must be 27 or 28
    assert recover(digest, "0x" + signature[:64].hex()) is None
    assert recover(digest, "0x" + "00" * 65) is None
    assert recover(digest, "0xzz") is None


def test_decode_domain_reads_eip5267() -> None:
    from eth_abi.abi import encode  # noqa: PLC0415

    types = ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"]
    data = encode(types, [b"\x0f", "TipRouter", "1", 31337, DOMAIN.verifying_contract, b"\x00" * 32, []])
    assert decode_domain("0x" + data.hex()) == DOMAIN


def _facts(**changes: Any) -> Facts:
    base: dict[str, Any] = {"head_timestamp": 1_000, "signer": FAN.address.lower(), "blocked": False,
                            "nonce_used": False, "balance": 100, "allowance": 100}  # fmt: skip
    return Facts(**{**base, **changes})


@pytest.mark.parametrize(
    ("intent", "facts", "reason"),
    [
        (_intent(), _facts(), None),
        (_intent(amount=0), _facts(), "invalid"),
        (_intent(to=FAN.address.lower()), _facts(), "invalid"),
        (_intent(deadline=1_000), _facts(), "expired"),
        (_intent(token=TKI), _facts(), "wrong_token"),
        (_intent(), _facts(signer=None), "bad_signature"),
        (_intent(), _facts(signer="0x" + "99" * 20), "bad_signature"),
        (_intent(), _facts(nonce_used=True), "nonce_used"),
        (_intent(), _facts(blocked=True), "blocked"),
        (_intent(amount=101), _facts(), "insufficient_balance"),
        (_intent(), _facts(allowance=9), "insufficient_allowance"),
        (_intent(kind=0, token=TKI), _facts(allowance=None), None),
    ],
)
def test_refusal_reasons(intent: dict[str, Any], facts: Facts, reason: str | None) -> None:
    row = {**intent, "sender": intent["from"], "receiver": intent["to"], "user_id": 1}
    assert refusal(row, facts, TOKENS, Caps(10, {0: 0, 1: 0}), Ledger()) == reason


def test_caps_and_reservations_accumulate_over_a_run() -> None:
    ledger, caps = Ledger(), Caps(3, {0: 0, 1: 25})
    row = {**_intent(), "sender": FAN.address.lower(), "receiver": "0x" + "cc" * 20, "user_id": 7}
    decisions = []
    for _ in range(4):
        reason = refusal(row, _facts(balance=30, allowance=100), TOKENS, caps, ledger)
        if reason is None:
            record(row, ledger)
        decisions.append(reason)
    # 10 + 10 fit the 25 amount cap; the third would make 30 > 25.
    assert decisions == [None, None, "daily_cap", "daily_cap"]
    ledger = Ledger()
    record(row, ledger)
    record(row, ledger)
    assert refusal(row, _facts(balance=25), TOKENS, Caps(10, {1: 0}), ledger) == "insufficient_balance"


def test_batch_keys_depend_on_the_set_of_digests() -> None:
    a, b = "0x" + "01" * 32, "0x" + "02" * 32
    assert batch_key([a, b]) == batch_key([b, a]) != batch_key([a])
