"""The relayer's type-2 signer produces exactly eth-account's bytes and hash."""

from __future__ import annotations

import secrets

import pytest
from eth_account import Account

from relayer.signing import TxSigner


@pytest.mark.parametrize("data", ["0x", "0x40c10f19" + "ab" * 96, "0x" + "00" * 500])
def test_signed_bytes_equal_eth_accounts(data: str) -> None:
    for _ in range(10):
        account = Account.create()
        tx = {
            "chainId": secrets.choice([1, 31337, 11155111]),
            "nonce": secrets.randbelow(2**20),
            "to": Account.create().address,
            "data": data,
            "value": secrets.choice([0, 1, 10**18]),
            "gas": 21000 + secrets.randbelow(10**6),
            "maxFeePerGas": 10**9 + secrets.randbelow(10**12),
            "maxPriorityFeePerGas": secrets.randbelow(10**9),
            "type": 2,
        }
        signed = account.sign_transaction(tx)
        raw, tx_hash = TxSigner(bytes(account.key)).sign(tx)
        assert raw == "0x" + signed.raw_transaction.hex()
        assert tx_hash == "0x" + signed.hash.hex()
        assert Account.recover_transaction(raw) == account.address


@pytest.mark.parametrize("nonce", [0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**64 - 1])
def test_rlp_edges_equal_eth_accounts(nonce: int) -> None:
    """Single bytes below 0x80 are their own encoding, 0 is the empty string, 55/56-byte strings and lists."""
    account = Account.create()
    for data in ("0x", "0x00", "0x7f", "0x80", "0x" + "11" * 55, "0x" + "22" * 56, "0x" + "33" * 300):
        tx = {"chainId": 1, "nonce": nonce, "to": Account.create().address, "data": data, "value": nonce,
              "gas": 21000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 0, "type": 2}  # fmt: skip
        signed = account.sign_transaction(tx)
        raw, tx_hash = TxSigner(bytes(account.key)).sign(tx)
        assert (raw, tx_hash) == ("0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex())
