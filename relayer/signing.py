"""EIP-1559 (type 2) transactions signed without eth-account's generic typed-transaction machinery.

The relayer signs thousands of transactions of one fixed shape. eth-account validates and
re-encodes each one before the ECDSA step (~5 ms), and eth-keys' pure-Python backend (used
when the optional ``coincurve`` package is absent) computes ``k·G`` with ~256 doublings
(~3 ms). Here the RLP (a fixed list of integers and byte strings) is encoded directly and,
with the pure-Python backend, ``k·G`` comes from a table of multiples of ``G`` computed once
(a fixed-base comb: 32 additions per signature). Everything else is eth-keys' own: the
RFC 6979 nonce ``k``, ``s = k⁻¹(z + r·d)``, the low-s rule and the recovery id, so a
signature is byte-for-byte the one eth-keys gives (a unit test checks this against eth-keys
and eth-account on random keys and transactions). With ``coincurve`` installed, eth-keys
signs in C and is used as it is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_keys import keys
from eth_keys.backends.native.ecdsa import deterministic_generate_k
from eth_keys.backends.native.jacobian import jacobian_add, jacobian_double
from eth_keys.backends.native.main import NativeECCBackend
from eth_keys.constants import SECPK1_G as G
from eth_keys.constants import SECPK1_N as N
from eth_keys.constants import SECPK1_P as P
from eth_utils import keccak

WINDOW = 8
WINDOWS = 256 // WINDOW
Affine = tuple[int, int]
Jacobian = tuple[int, int, int]


@cache
def _table() -> list[list[Affine]]:
    """``table[i][j - 1] = j · 2^(8i) · G`` for j in 1..255, in affine coordinates (~0.1 s, once)."""
    table = []
    base: Jacobian = (G[0], G[1], 1)
    for _ in range(WINDOWS):
        row, point = [], base
        for _ in range(2**WINDOW - 1):
            row.append(_affine(point))
            point = jacobian_add(point, base)
        table.append(row)
        for _ in range(WINDOW):
            base = jacobian_double(base)
    return table


def _affine(point: Jacobian) -> Affine:
    z = pow(point[2], -1, P)
    z2 = z * z % P
    return point[0] * z2 % P, point[1] * z2 * z % P


def _add_affine(p: Jacobian, q: Affine) -> Jacobian:
    """Jacobian + affine (mixed) addition."""
    if not p[1]:
        return q[0], q[1], 1
    z2 = p[2] * p[2] % P
    h = (q[0] * z2 - p[0]) % P
    r = (q[1] * z2 * p[2] - p[1]) % P
    if h == 0:
        return jacobian_double(p) if r == 0 else (0, 0, 1)
    h2 = h * h % P
    h3 = h * h2 % P
    u1h2 = p[0] * h2 % P
    x = (r * r - h3 - 2 * u1h2) % P
    return x, (r * (u1h2 - x) - p[1] * h3) % P, h * p[2] % P


def base_multiply(k: int) -> Affine:
    """``k · G`` for 0 < k < N."""
    table, point = _table(), (0, 0, 1)
    for window in range(WINDOWS):
        digit = (k >> (WINDOW * window)) & (2**WINDOW - 1)
        if digit:
            point = _add_affine(point, table[window][digit - 1])
    return _affine(point)


def sign_hash(msg_hash: bytes, private_key: bytes) -> tuple[int, int, int]:
    """(v, r, s) exactly as eth-keys' ``ecdsa_raw_sign``, with ``k·G`` from the table."""
    z = int.from_bytes(msg_hash, "big")
    k = deterministic_generate_k((z % N).to_bytes(32, "big"), private_key)
    r, y = base_multiply(k)
    s_raw = pow(k, -1, N) * (z + r * int.from_bytes(private_key, "big")) % N
    v = (y % 2) ^ (0 if s_raw * 2 < N else 1)
    return v, r, s_raw if s_raw * 2 < N else N - s_raw


def _rlp_bytes(value: bytes) -> bytes:
    if len(value) == 1 and value[0] < 0x80:
        return value
    return _rlp_length(len(value), 0x80) + value


def _rlp_int(value: int) -> bytes:
    return _rlp_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def _rlp_list(items: list[bytes]) -> bytes:
    body = b"".join(items)
    return _rlp_length(len(body), 0xC0) + body


class TxSigner:
    def __init__(self, private_key: bytes) -> None:
        self._key = keys.PrivateKey(private_key)
        self._raw_key = private_key
        self._native = isinstance(self._key.backend, NativeECCBackend)

    def sign_hash(self, msg_hash: bytes) -> tuple[int, int, int]:
        if self._native:
            return sign_hash(msg_hash, self._raw_key)
        signature = self._key.sign_msg_hash(msg_hash)
        return signature.v, signature.r, signature.s

    def sign(self, tx: dict[str, Any]) -> tuple[str, str]:
        """The raw transaction and its hash (0x-hex) of a type-2 tx dict as ``Relayer._unsigned`` builds it."""
        fields = [
            _rlp_int(tx["chainId"]),
            _rlp_int(tx["nonce"]),
            _rlp_int(tx["maxPriorityFeePerGas"]),
            _rlp_int(tx["maxFeePerGas"]),
            _rlp_int(tx["gas"]),
            _rlp_bytes(bytes.fromhex(tx["to"][2:])),
            _rlp_int(tx["value"]),
            _rlp_bytes(bytes.fromhex(tx["data"][2:])),
            _rlp_list([]),  # access list
        ]
        v, r, s = self.sign_hash(keccak(b"\x02" + _rlp_list(fields)))
        raw = b"\x02" + _rlp_list([*fields, _rlp_int(v), _rlp_int(r), _rlp_int(s)])
        return "0x" + raw.hex(), "0x" + keccak(raw).hex()
