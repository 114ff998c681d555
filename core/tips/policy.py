"""The tip approval policy: when an intent may be approved, and the facts it is decided on.

``refusal`` is pure: a valid signature for the TipRouter's domain, the token of its kind, the
deadline not passed and the nonce unused on chain, the sender on no block list (the admin's, or the
receiving creator's), under the per-user daily caps, and the fan's balance (and, for a gift, Coin
allowance to the router) covering this intent plus every approved one not yet settled.

``decide`` gathers the facts for a list of intents (one RPC batch, three queries) and applies the
policy in order, each approval counting against the next ones. It runs inside the caller's
transaction, which holds ``lock`` (one approver per chain: the relayer's hourly run and the API's
on-stream gifts), so caps and reservations are never double-counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from eth_utils.abi import function_signature_to_4byte_selector

from core.chain.eip712 import Domain, intent_digest, recover
from core.chain.rpc import RpcClient
from core.db.queries import Queries

QUERIES = Queries(Path(__file__).with_name("policy.sql"))
_BALANCE_OF = "0x" + function_signature_to_4byte_selector("balanceOf(address)").hex()
_ALLOWANCE = "0x" + function_signature_to_4byte_selector("allowance(address,address)").hex()
_NONCE_USED = "0x" + function_signature_to_4byte_selector("nonce_used(address,uint256)").hex()
_RPC_CHUNK = 100


def _word(value: str | int) -> str:
    number = int(value, 16) if isinstance(value, str) else value
    return format(number, "064x")


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


@dataclass(frozen=True)
class Contracts:
    """The deployment's addresses the policy reads: the token of each kind, the Coin and the router."""

    tokens: dict[int, str]
    coin: str
    router: str


@dataclass(frozen=True)
class Approver:
    """What ``decide`` needs besides the intents: the chain, the router's domain, the contracts and the caps."""

    chain_id: int
    domain: Domain
    contracts: Contracts
    caps: Caps


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


async def lock(conn: asyncpg.Connection, chain_id: int, timeout_ms: int) -> bool:
    """Take the approver lock in the caller's transaction, waiting at most ``timeout_ms``; False if held."""
    await conn.execute(f"SET LOCAL lock_timeout = {int(timeout_ms)}")
    try:
        async with conn.transaction():  # a savepoint: a timeout leaves the caller's transaction usable
            await conn.execute(QUERIES.lock, chain_id)
    except asyncpg.LockNotAvailableError:
        return False
    await conn.execute("SET LOCAL lock_timeout = 0")
    return True


async def _eth_calls(rpc: RpcClient, calls: list[tuple[str, str]]) -> list[int]:
    results: list[int] = []
    for start in range(0, len(calls), _RPC_CHUNK):
        chunk = calls[start : start + _RPC_CHUNK]
        answers = await rpc.batch([("eth_call", [{"to": to, "data": data}, "latest"]) for to, data in chunk])
        results.extend(int(str(a), 16) for a in answers)
    return results


async def chain_facts(
    rpc: RpcClient, rows: list[dict[str, Any]], coin: str, router: str
) -> tuple[dict[tuple[str, str], int], dict[str, int], list[bool]]:
    """Balances per (sender, token), Coin allowances to the router per sender, and each row's nonce used."""
    pairs = sorted({(r["sender"], r["token"]) for r in rows})
    coin_senders = sorted({r["sender"] for r in rows if r["token"] == coin})
    calls = [(token, _BALANCE_OF + _word(sender)) for sender, token in pairs]
    calls += [(coin, _ALLOWANCE + _word(sender) + _word(router)) for sender in coin_senders]
    calls += [(router, _NONCE_USED + _word(r["sender"]) + _word(int(r["nonce"]))) for r in rows]
    values = await _eth_calls(rpc, calls)
    balances = dict(zip(pairs, values[: len(pairs)], strict=True))
    allowances = dict(zip(coin_senders, values[len(pairs) : len(pairs) + len(coin_senders)], strict=True))
    used = [bool(v) for v in values[len(pairs) + len(coin_senders) :]]
    return balances, allowances, used


async def head_timestamp(rpc: RpcClient) -> int:
    block = await rpc.get_block("latest")
    assert block is not None
    return int(block["timestamp"], 16)


async def load_ledger(conn: asyncpg.Connection, chain_id: int, rows: list[dict[str, Any]]) -> Ledger:
    ledger = Ledger()
    users = sorted({r["user_id"] for r in rows if r["user_id"] is not None})
    senders = sorted({r["sender"] for r in rows})
    for u in await conn.fetch(QUERIES.daily_usage, chain_id, users, senders):
        ledger.count[u["who"]] += u["n"]
        ledger.amount[(u["who"], u["kind"])] += int(u["amount"])
    for r in await conn.fetch(QUERIES.reserved, chain_id, senders):
        ledger.reserved[(r["sender"], r["token"])] += int(r["amount"])
    return ledger


@dataclass(frozen=True)
class ChainView:
    """The chain's side of the facts for a list of intents (read without the approver lock held)."""

    head_timestamp: int
    balances: dict[tuple[str, str], int]
    allowances: dict[str, int]
    used: list[bool]


async def chain_view(rpc: RpcClient, approver: Approver, rows: list[dict[str, Any]]) -> ChainView:
    head = await head_timestamp(rpc)
    balances, allowances, used = await chain_facts(rpc, rows, approver.contracts.coin, approver.contracts.router)
    return ChainView(head, balances, allowances, used)


def with_permit(allowance: int | None, row: dict[str, Any], head: int) -> int | None:
    """The allowance a gift can count on: the chain's, or its permit's value (the API checked the
    permit's signature; settle_with_permits applies it first) while the permit's deadline is ahead."""
    if row.get("permit_value") is None or int(row["permit_deadline"]) <= head:
        return allowance
    return max(allowance or 0, int(row["permit_value"]))


async def decide(
    conn: asyncpg.Connection,
    rpc: RpcClient,
    approver: Approver,
    rows: list[dict[str, Any]],
    view: ChainView | None = None,
) -> list[str | None]:
    """Each row's refusal reason (None: approved), in order; rows are intents as stored
    (``user_id, sender, receiver, token, amount, kind, nonce, deadline, signature``). ``view``: the
    chain facts read before the lock was taken (the API's gifts keep the lock short); else read here."""
    if not rows:
        return []
    view = view or await chain_view(rpc, approver, rows)
    head, balances, allowances, used = view.head_timestamp, view.balances, view.allowances, view.used
    blocked_at = {
        b["i"]
        for b in await conn.fetch(
            QUERIES.blocked, [r["sender"] for r in rows], [r["receiver"] for r in rows], [r["user_id"] for r in rows]
        )
    }
    contracts = approver.contracts
    ledger = await load_ledger(conn, approver.chain_id, rows)
    reasons: list[str | None] = []
    for position, row in enumerate(rows, start=1):
        message = {**row, "from": row["sender"], "to": row["receiver"]}
        signer = recover(intent_digest(approver.domain, message), row["signature"])
        facts = Facts(
            head_timestamp=head,
            signer=signer,
            blocked=position in blocked_at,
            nonce_used=used[position - 1],
            balance=balances[(row["sender"], row["token"])],
            allowance=with_permit(allowances.get(row["sender"]), row, head) if row["token"] == contracts.coin else None,
        )
        reason = refusal(row, facts, contracts.tokens, approver.caps, ledger)
        if reason is None:
            record(row, ledger)
        reasons.append(reason)
    return reasons
