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
