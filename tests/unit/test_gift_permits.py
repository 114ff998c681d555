"""Gasless gifts without a chain: the Coin permit digest (against eth-account's encoder), the policy's
allowance from an unexpired permit, and the settle kind's permits (validated, canonical, encoded)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from core.chain.eip712 import PERMIT_TYPES, Domain, permit_digest, recover
from core.errors import InvalidInput
from core.queue.kinds import validate_settle
from core.tips.policy import with_permit

COIN = Domain("Creator Coin", "1", 31337, "0x" + "0c" * 20)
FAN = Account.create()
ROUTER = "0x" + "12" * 20
SIG = "0x" + "ab" * 65
INTENT = {"from": "0x" + "01" * 20, "to": "0x" + "02" * 20, "token": "0x" + "0c" * 20, "amount": "5", "kind": "1",
          "nonce": "1", "deadline": "9"}  # fmt: skip


def test_permit_digest_is_eip_2612_in_the_coins_domain() -> None:
    message = {"owner": FAN.address, "spender": ROUTER, "value": 500, "nonce": 3, "deadline": 2_000_000_000}
    signable = encode_typed_data(
        domain_data=COIN.as_dict(), message_types={"Permit": PERMIT_TYPES}, message_data=message
    )
    digest = permit_digest(COIN, message)
    assert digest == keccak(b"\x19\x01" + signable.header + signable.body)
    signature = "0x" + bytes(Account.sign_message(signable, FAN.key).signature).hex()
    assert recover(digest, signature) == FAN.address.lower()
    assert permit_digest(COIN, {**message, "nonce": 4}) != digest


def test_an_unexpired_permit_counts_as_allowance() -> None:
    row = {"permit_value": "500", "permit_deadline": "100"}
    assert with_permit(0, row, head=99) == 500
    assert with_permit(900, row, head=99) == 900  # the chain's allowance is more already
    assert with_permit(7, row, head=100) == 7  # expired at the head: only the chain's allowance
    assert with_permit(7, {"permit_value": None, "permit_deadline": None}, head=0) == 7


def test_settle_permits_are_validated_and_canonical() -> None:
    plain = {"intents": [INTENT, INTENT], "signatures": [SIG, SIG]}
    assert "permits" not in validate_settle(plain)
    assert "permits" not in validate_settle({**plain, "permits": [None, None]})  # none: the plain settle
    one = {"value": "5", "deadline": "9", "signature": SIG.upper().replace("0X", "0x")}
    checked = validate_settle({**plain, "permits": [None, one]})
    assert checked["permits"] == [None, {"value": "5", "deadline": "9", "signature": SIG}]
    for bad in (
        [one],  # one per intent
        [None, {"value": "5", "deadline": "0", "signature": SIG}],  # a zero deadline means none: refused
        [None, {"value": "-1", "deadline": "9", "signature": SIG}],
        [None, {"value": "5", "deadline": "9", "signature": "0x12"}],
        [None, "permit"],
        "permits",
    ):
        with pytest.raises(InvalidInput):
            validate_settle({**plain, "permits": bad})
