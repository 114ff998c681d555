"""The tip approval policy (seed 000) as pure functions: the relayer's hourly ``approve_pending`` and the
API's manual review (README "Manual intent review") decide with the same code."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eth_utils.crypto import keccak


@dataclass(frozen=True)
class Caps:
    intents: int
    amounts: dict[int, int]  # kind -> base units per 24 h (0: no cap)


@dataclass
class Ledger:
    """What the run has counted so far: usage per account and kind, reservations per (sender, token)."""

    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    amount: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    reserved: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know about one intent (read from the chain and the database)."""

    head_timestamp: int
    signer: str | None
    blocked: bool
    nonce_used: bool
    balance: int
    allowance: int | None  # Coin allowance to the router; None for TKI (the router needs none)


def who(intent: dict[str, Any]) -> str:
    return f"u{intent['user_id']}" if intent.get("user_id") is not None else str(intent["sender"])


def refusal(intent: dict[str, Any], facts: Facts, tokens: dict[int, str], caps: Caps, ledger: Ledger) -> str | None:
    """Why ``intent`` may not be approved now, or None. Pure: the caller updates the ledger."""
    kind, amount, sender = int(intent["kind"]), int(intent["amount"]), str(intent["sender"])
    if amount <= 0 or sender == intent["receiver"]:
        return "invalid"
    if int(intent["deadline"]) <= facts.head_timestamp:
        return "expired"
    if tokens.get(kind) != intent["token"]:
        return "wrong_token"
    if facts.signer != sender:
        return "bad_signature"
    if facts.nonce_used:
        return "nonce_used"
    if facts.blocked:
        return "blocked"
    account = who(intent)
    cap = caps.amounts.get(kind, 0)
    if ledger.count[account] + 1 > caps.intents or (cap and ledger.amount[(account, kind)] + amount > cap):
        return "daily_cap"
    needed = ledger.reserved[(sender, str(intent["token"]))] + amount
    if facts.balance < needed:
        return "insufficient_balance"
    if facts.allowance is not None and facts.allowance < needed:
        return "insufficient_allowance"
    return None


def record(intent: dict[str, Any], ledger: Ledger) -> None:
    account, kind, amount = who(intent), int(intent["kind"]), int(intent["amount"])
    ledger.count[account] += 1
    ledger.amount[(account, kind)] += amount
    ledger.reserved[(str(intent["sender"]), str(intent["token"]))] += amount


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


_BALANCE_OF = _selector("balanceOf(address)")
_ALLOWANCE = _selector("allowance(address,address)")
_NONCE_USED = _selector("nonce_used(address,uint256)")


def _word(value: str | int) -> str:
    number = int(value, 16) if isinstance(value, str) else value
    return format(number, "064x")


def fact_calls(rows: list[dict[str, Any]], coin: str, router: str) -> list[tuple[str, str]]:
    """The ``eth_call``s (to, data) the facts of ``rows`` need: balances, Coin allowances, nonces used."""
    pairs = sorted({(r["sender"], r["token"]) for r in rows})
    coin_senders = sorted({r["sender"] for r in rows if r["token"] == coin})
    calls = [(token, _BALANCE_OF + _word(sender)) for sender, token in pairs]
    calls += [(coin, _ALLOWANCE + _word(sender) + _word(router)) for sender in coin_senders]
    calls += [(router, _NONCE_USED + _word(r["sender"]) + _word(int(r["nonce"]))) for r in rows]
    return calls


def split_facts(
    rows: list[dict[str, Any]], coin: str, values: list[int]
) -> tuple[dict[tuple[str, str], int], dict[str, int], list[bool]]:
    """The answers of :func:`fact_calls` as (balances by (sender, token), allowances by sender, used per row)."""
    pairs = sorted({(r["sender"], r["token"]) for r in rows})
    coin_senders = sorted({r["sender"] for r in rows if r["token"] == coin})
    balances = dict(zip(pairs, values[: len(pairs)], strict=True))
    allowances = dict(zip(coin_senders, values[len(pairs) : len(pairs) + len(coin_senders)], strict=True))
    used = [bool(v) for v in values[len(pairs) + len(coin_senders) :]]
    return balances, allowances, used
