"""EIP-1559 (type 2) transactions signed without eth-account's generic typed-transaction machinery.

The relayer signs thousands of transactions of one fixed shape. eth-account validates and
re-encodes each one through its generic typed-transaction layer (~5 ms); here the fixed list
of fields is RLP-encoded with the ``rlp`` library and the hash signed by eth-keys (RFC 6979,
low s), which runs in C through ``coincurve`` (in the lock). A unit test checks the bytes and
hash against eth-account's on random keys and transactions.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_keys import keys
from eth_utils import keccak


class TxSigner:
    def __init__(self, private_key: bytes) -> None:
        self._key = keys.PrivateKey(private_key)

    def sign(self, tx: dict[str, Any]) -> tuple[str, str]:
        """The raw transaction and its hash (0x-hex) of a type-2 tx dict as ``Relayer._unsigned`` builds it."""
        fields: list[Any] = [
            tx["chainId"],
            tx["nonce"],
            tx["maxPriorityFeePerGas"],
            tx["maxFeePerGas"],
            tx["gas"],
            bytes.fromhex(tx["to"][2:]),
            tx["value"],
            bytes.fromhex(tx["data"][2:]),
            [],  # access list
        ]
        signature = self._key.sign_msg_hash(keccak(b"\x02" + rlp.encode(fields)))
        raw = b"\x02" + rlp.encode([*fields, signature.v, signature.r, signature.s])
        return "0x" + raw.hex(), "0x" + keccak(raw).hex()
