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


def route(keys: list[str], inflight: dict[str, int], cap: int) -> list[str]:
    """The signer pool's routing: the keys with room under ``cap``, least loaded first (ties: configured order).

    A key stuck behind an unmined transaction keeps its load (nothing of it confirms), so new requests go to
    the others; once at ``cap`` it gets none until it moves again.
    """
    order = {key: i for i, key in enumerate(keys)}
    free = [key for key in keys if inflight.get(key, 0) < cap]
    return sorted(free, key=lambda key: (inflight.get(key, 0), order[key]))


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


BUMP_NUMERATOR, BUMP_DENOMINATOR = 1125, 1000  # +12.5 %: geth's and anvil's replacement minimum is 10 %


def bump_fees(previous: Fees, market: Fees, cap: int) -> Fees | None:
    """Fees for a same-nonce replacement: >= 12.5 % above ``previous`` on both fields, at least the market's.

    None when the cap leaves no room for a valid bump (the node would refuse the replacement).
    """
    tip = max(
        -(-previous.max_priority_fee_per_gas * BUMP_NUMERATOR // BUMP_DENOMINATOR), market.max_priority_fee_per_gas
    )
    max_fee = max(-(-previous.max_fee_per_gas * BUMP_NUMERATOR // BUMP_DENOMINATOR), market.max_fee_per_gas, tip)
    if max_fee > cap:
        return None
    return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip)


def is_stuck(*, head: int, sent_block: int, elapsed: float, stuck_blocks: int, stuck_seconds: float) -> bool:
    """A sent, unmined transaction is stuck after ``stuck_blocks`` new blocks or ``stuck_seconds`` (automine off)."""
    return head - sent_block >= stuck_blocks or elapsed >= stuck_seconds


def reconciled_nonce(persisted_next: int, chain_pending: int, inflight: list[int]) -> tuple[int, list[int]]:
    """The persisted next nonce with gaps closed, and the nonces to fill (no in-flight tx holds them).

    Nonces above every in-flight one are simply freed; holes below an in-flight one must be filled
    (with a zero-value self-transaction) or the later ones never mine.
    """
    held = sorted({n for n in inflight if n >= chain_pending})
    if not held:
        return chain_pending, []
    holes = [n for n in range(chain_pending, held[-1]) if n not in set(held)]
    return held[-1] + 1, holes


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
