"""Small pure functions of the relayer's policy, unit-tested without a chain."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode

GWEI = 10**9
_ERROR_SELECTOR = "0x08c379a0"  # Error(string)
_PANIC_SELECTOR = "0x4e487b71"  # Panic(uint256)


def next_nonce(persisted_next: int | None, chain_pending: int) -> int:
    """The nonce to use: never below the chain's pending count, never reusing one we handed out."""
    if persisted_next is None:
        return chain_pending
    return max(persisted_next, chain_pending)


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def fees_from_history(history: dict[str, object], *, min_tip: int = GWEI, base_multiplier: int = 2) -> Fees:
    """EIP-1559 fees from ``eth_feeHistory``: tip = median reward (at least ``min_tip``), cap = 2 x next base + tip."""
    base_fees = history.get("baseFeePerGas") or ["0x0"]
    assert isinstance(base_fees, list)
    next_base = int(base_fees[-1], 16)
    rewards = [int(r[0], 16) for r in (history.get("reward") or []) if r]  # type: ignore[attr-defined]
    rewards.sort()
    tip = max(min_tip, rewards[len(rewards) // 2] if rewards else 0)
    return Fees(max_fee_per_gas=base_multiplier * next_base + tip, max_priority_fee_per_gas=tip)


def decode_revert(data: str | None) -> str:
    """A readable reason from revert data (``Error(string)``, ``Panic(uint256)`` or raw hex)."""
    if not data or data == "0x":
        return "reverted without a reason"
    if data.startswith(_ERROR_SELECTOR):
        try:
            (reason,) = abi_decode(["string"], bytes.fromhex(data[10:]))
            return str(reason)
        except Exception:  # noqa: BLE001 (malformed revert data is shown raw)
            return f"reverted: {data}"
    if data.startswith(_PANIC_SELECTOR):
        (code,) = abi_decode(["uint256"], bytes.fromhex(data[10:]))
        return f"panic 0x{code:02x}"
    return f"reverted: {data}"


def backoff_seconds(attempts: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    return float(min(cap, base * 2 ** max(0, attempts - 1)))
