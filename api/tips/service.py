"""Tips: fans' signed intents (claps in TKI, gifts in TK) and creators' signed withdrawals.

An intent is checked here as the TipRouter will check it (EIP-712 signature by ``from`` for the
deployed router's domain, the token of its kind, amount > 0, deadline ahead) and stored
``pending``; the relayer's jobs approve and settle it (relayer/jobs/intents.py). Its final
status is read, never stored: the indexer's ``intent_outcomes`` row with the same digest
(settled, or rejected with the contract's reason), else the local status, else ``failed`` when
the settle request carrying it could not be sent.

A withdrawal is a ``withdraw_for`` request inserted into the relayer's queue (SQL only: the
API does not import the relayer), keyed by the creator and nonce.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg

from api.domain_errors import Forbidden
from api.store import ApiStore
from api.tips.review import IntentReview
from api.tips.schemas import GiftPermit, IntentBody, WithdrawBody
from core.chain.eip712 import (
    KIND_NAMES,
    MAX_UINT256,
    REJECTION_REASONS,
    Domain,
    fetch_domain,
    fetch_domain_at,
    intent_digest,
    permit_digest,
    recover,
    withdrawal_digest,
)
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import Queries, translate_errors
from core.errors import ConfigError, Conflict, InvalidInput, NotFound
from core.queue import TxRequest, enqueue, withdraw_for_key

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
_NONCES = "0x7ecebe00"  # Coin.nonces(address), EIP-2612
__all__ = ["IntentReview", "Tips", "intent_view"]
FAILED_REQUEST = ("failed", "dead", "cancelled")


class BadSignature(InvalidInput):
    """The signature is not ``from``'s EIP-712 signature of this message for the TipRouter."""

    code = "bad_signature"


class WrongToken(InvalidInput):
    """A clap is paid in the Engagement token (TKI), a gift in the Coin (TK)."""

    code = "wrong_token"


class Expired(InvalidInput):
    """The deadline has passed."""

    code = "expired"


class BadPermit(InvalidInput):
    """The gift's Coin permit is not one the router could use for it."""

    code = "bad_permit"


class NonceUsed(Conflict):
    """This signer's nonce is already used by another intent or withdrawal."""

    code = "nonce_used"


def _uint(value: str, name: str, *, positive: bool = False) -> int:
    number = int(value)
    if number > MAX_UINT256 or (positive and number == 0):
        raise InvalidInput(f"{name} must be in {int(positive)}..2^256-1", details={name: value[:80]})
    return number


def _permit_columns(permit: tuple[int, int, str] | None) -> tuple[str | None, str | None, str | None]:
    """The stored permit (value, deadline, signature) of a gasless gift, or three NULLs."""
    return (str(permit[0]), str(permit[1]), permit[2]) if permit else (None, None, None)


def _check_deadline(deadline: int) -> None:
    if deadline <= int(time.time()):
        raise Expired("the deadline has passed", details={"deadline": str(deadline)})


def intent_view(row: asyncpg.Record, tokens: dict[str, str]) -> dict[str, Any]:
    """An intent as the API shows it, with its status resolved from the chain's outcome."""
    status, reason = row["status"], row["reason"]
    if row["outcome"] == "settled":
        status, reason = "settled", None
    elif row["outcome"] == "rejected":
        code = row["outcome_reason"]
        status, reason = "rejected", REJECTION_REASONS.get(code, f"reason {code}")
    elif status == "submitted" and row["request_status"] in FAILED_REQUEST:
        status, reason = "failed", row["last_error"] or row["request_status"]
    return {
        "digest": row["digest"],
        "kind": KIND_NAMES[row["kind"]],
        "from": row["sender"],
        "to": row["receiver"],
        "token": row["token"],
        "token_name": tokens.get(row["token"]),
        "amount": row["amount"],
        "nonce": row["nonce"],
        "deadline": row["deadline"],
        "status": status,
        "reason": reason,
        "tx_request_id": row["tx_request_id"],
        "tx_hash": row["outcome_tx"] or row["request_tx"],
        "block_number": row["outcome_block"],
        "fee": row["fee"],
        "gasless": bool(row["gasless"]),
        "created_at": row["created_at"].isoformat(),
    }


def withdrawal_view(row: asyncpg.Record) -> dict[str, Any]:
    p = row["payload"]
    return {
        "id": row["id"],
        "status": row["status"],
        **{k: p[k] for k in ("creator", "token", "amount", "nonce", "deadline")},
        "tx_hash": row["tx_hash"],
        "last_error": row["last_error"],
        "created_at": row["created_at"].isoformat(),
    }


class Tips:
    def __init__(self, pool: asyncpg.Pool, store: ApiStore, rpc: RpcClient, manifest: Manifest) -> None:
        self.pool = pool
        self.store = store
        self.rpc = rpc
        self.manifest = manifest
        self.chain_id = manifest.chain_id
        self.q = QUERIES
        # A token missing from the deployment leaves its kind refused (503 config_error), not the API down.
        self.kind_tokens = {
            kind: address
            for kind, name in ((0, "Engagement"), (1, "Coin"))
            if (address := manifest.address_of(name)) is not None
        }
        self.tokens = {c.address: name for name, c in manifest.erc20_tokens().items()}
        self._domain: Domain | None = None
        self._coin_domain: Domain | None = None
        self._domain_lock = asyncio.Lock()

    async def domain(self) -> Domain:
        """The router's EIP-712 domain, read once per process from the contract (it never changes)."""
        async with self._domain_lock:
            if self._domain is None:
                self._domain = await fetch_domain(self.rpc, self.manifest)
            return self._domain

    async def coin_domain(self) -> Domain:
        """The Coin's EIP-712 domain (its permits'), read once per process."""
        async with self._domain_lock:
            if self._coin_domain is None:
                coin = self.kind_tokens[1]
                self._coin_domain = await fetch_domain_at(self.rpc, coin, self.chain_id, "Coin")
            return self._coin_domain

    async def check_permit(self, intent: dict[str, Any], permit: GiftPermit) -> tuple[int, int, str]:
        """(value, deadline, signature) of a permit the router can apply for this gift: owner = ``from``,
        spender = the router, value >= amount, deadline ahead, a Coin nonce not used yet, signed by ``from``."""
        value, nonce = _uint(permit.value, "permit.value"), _uint(permit.nonce, "permit.nonce")
        deadline = _uint(permit.deadline, "permit.deadline")
        if intent["kind"] != 1:
            raise BadPermit("only gifts (paid in the Coin) carry a permit")
        if value < intent["amount"]:
            raise BadPermit("the permit's value is below the gift's amount", details={"value": str(value)})
        if deadline <= int(time.time()):
            raise BadPermit("the permit's deadline has passed", details={"deadline": str(deadline)})
        router = self.manifest.contract("TipRouter").address.lower()
        digest = permit_digest(
            await self.coin_domain(),
            {"owner": intent["from"], "spender": router, "value": value, "nonce": nonce, "deadline": deadline},
        )
        if recover(digest, permit.signature) != intent["from"]:
            raise BadPermit("the permit is not signed by `from` for the TipRouter in the Coin's domain")
        owner = intent["from"].removeprefix("0x").rjust(64, "0")
        call = {"to": self.kind_tokens[1], "data": _NONCES + owner}
        current = int(str(await self.rpc.call("eth_call", [call, "latest"])), 16)
        if nonce < current:
            raise BadPermit("the permit's nonce is used already", details={"nonce": str(nonce), "next": str(current)})
        return value, deadline, permit.signature.lower()

    # ------------------------------------------------------------------ intents
    async def submit(self, user_id: int, wallets: list[str], kind: int, body: IntentBody) -> dict[str, Any]:
        intent, digest = await self.verify(wallets, kind, body)
        async with translate_errors(), self.pool.acquire() as conn:
            if await conn.fetchval(self.q.creator_of_wallet, intent["to"]) is None:
                raise InvalidInput("`to` is not the wallet of an approved creator", details={"to": intent["to"]})
            await self.insert(conn, user_id, intent, digest)
        indexed, row = await self.get(digest)
        return {"intent": intent_view(row, self.tokens), "indexed_block": indexed}

    async def verify(self, wallets: list[str], kind: int, body: IntentBody) -> tuple[dict[str, Any], str]:
        """The intent as the TipRouter will check it, and its digest (``0x…``); raises when it is not valid."""
        deadline = _uint(body.deadline, "deadline")
        intent: dict[str, Any] = {
            "from": body.from_.lower(),
            "to": body.to.lower(),
            "token": body.token.lower(),
            "amount": _uint(body.amount, "amount", positive=True),
            "kind": kind,
            "nonce": _uint(body.nonce, "nonce"),
            "deadline": deadline,
        }
        if kind not in self.kind_tokens:
            raise ConfigError(f"{KIND_NAMES[kind]}s are off: the deployment manifest lacks their token")
        if intent["token"] != self.kind_tokens[kind]:
            raise WrongToken(
                f"a {KIND_NAMES[kind]} is paid in {self.tokens.get(self.kind_tokens[kind])}",
                details={"token": intent["token"], "expected": self.kind_tokens[kind]},
            )
        _check_deadline(deadline)
        if intent["from"] == intent["to"]:
            raise InvalidInput("a fan cannot tip themself")
        if intent["from"] not in wallets:
            raise Forbidden("`from` must be one of your linked wallets", details={"from": intent["from"]})
        digest = intent_digest(await self.domain(), intent)
        if recover(digest, body.signature) != intent["from"]:
            raise BadSignature("the signature does not recover to `from`", details={"digest": "0x" + digest.hex()})
        permit = await self.check_permit(intent, body.permit) if body.permit is not None else None
        return {**intent, "signature": body.signature.lower(), "permit": permit}, "0x" + digest.hex()

    async def insert(
        self, conn: asyncpg.Connection, user_id: int, intent: dict[str, Any], digest: str,
        decision: tuple[str, str | None] = ("pending", None),
    ) -> int:  # fmt: skip
        """Store a verified intent on the caller's connection (``pending``, or already decided); its row id."""
        status, reason = decision
        try:
            row_id = await conn.fetchval(
                self.q.insert_intent, self.chain_id, digest, user_id, intent["from"], intent["to"], intent["token"],
                str(intent["amount"]), intent["kind"], str(intent["nonce"]), str(intent["deadline"]),
                intent["signature"], *(_permit_columns(intent.get("permit"))), status, reason,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            what = "intent" if exc.constraint_name == "tip_intents_chain_id_digest_key" else "nonce"
            raise NonceUsed(f"this {what} was submitted before", details={"nonce": str(intent["nonce"])}) from exc
        if row_id is None:
            raise NonceUsed("this nonce is used by a withdrawal", details={"nonce": str(intent["nonce"])})
        return int(row_id)

    async def get(self, digest: str) -> tuple[Any, asyncpg.Record]:
        indexed, row = await self.store.read(lambda conn: conn.fetchrow(self.q.intent_by_digest, self.chain_id, digest))
        if row is None:
            raise NotFound("no such intent", details={"digest": digest})
        return indexed, row

    async def page(
        self, user_id: int, wallets: list[str], direction: str | None, before: int, limit: int
    ) -> tuple[Any, list[dict[str, Any]]]:
        indexed, rows = await self.store.read(
            lambda conn: conn.fetch(self.q.intents_page, self.chain_id, user_id, wallets, before, direction, limit)
        )
        return indexed, [{"id": r["id"], **intent_view(r, self.tokens)} for r in rows]

    # ------------------------------------------------------------------ withdrawals
    async def withdraw(self, wallets: list[str], body: WithdrawBody) -> dict[str, Any]:
        w: dict[str, Any] = {
            "creator": body.creator.lower(),
            "token": body.token.lower(),
            "amount": _uint(body.amount, "amount", positive=True),
            "nonce": _uint(body.nonce, "nonce"),
            "deadline": _uint(body.deadline, "deadline"),
        }
        if w["token"] not in self.kind_tokens.values():
            raise WrongToken("withdrawals are in Coin (TK) or Engagement (TKI)", details={"token": w["token"]})
        _check_deadline(w["deadline"])
        if w["creator"] not in wallets:
            raise Forbidden("`creator` must be one of your linked wallets", details={"creator": w["creator"]})
        digest = withdrawal_digest(await self.domain(), w)
        if recover(digest, body.signature) != w["creator"]:
            raise BadSignature("the signature does not recover to `creator`")
        payload = {**{k: str(v) for k, v in w.items()}, "signature": body.signature.lower()}
        key = withdraw_for_key(w["creator"], w["nonce"])
        async with translate_errors(), self.pool.acquire() as conn:
            if await conn.fetchval(self.q.nonce_taken_by_intent, self.chain_id, w["creator"], str(w["nonce"])):
                raise NonceUsed("this nonce is used by a tip intent", details={"nonce": str(w["nonce"])})
            queued = await enqueue(conn, TxRequest("withdraw_for", key, payload))
            row = await conn.fetchrow(self.q.withdrawal_request, key)
        if not queued.matches:
            raise NonceUsed("this nonce was used for another withdrawal", details={"nonce": str(w["nonce"])})
        return withdrawal_view(row)

    async def withdrawals(self, wallets: list[str], before: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.withdrawals_page, wallets, before, limit)
        return [withdrawal_view(r) for r in rows]

    # ------------------------------------------------------------------ the coin wallet
    async def coin_wallet(self, wallets: list[str]) -> dict[str, Any]:
        """Indexed Coin balances of the wallets and their gifts not settled yet (sent, received)."""
        coin = self.kind_tokens.get(1)
        if coin is None:
            raise ConfigError("no Coin is deployed")

        async def read(conn: asyncpg.Connection) -> tuple[Any, Any]:
            balances = await conn.fetch(self.q.coin_balances, self.chain_id, coin, wallets)
            return balances, await conn.fetch(self.q.pending_gifts, self.chain_id, wallets)

        indexed, (balances, pending) = await self.store.read(read)
        by_side = {r["sent"]: {"count": r["n"], "amount": r["amount"]} for r in pending}
        none = {"count": 0, "amount": "0"}
        return {
            "token": coin,
            "balance": str(sum(int(r["balance"]) for r in balances)),
            "wallets": [{"address": w, "balance": next((r["balance"] for r in balances if r["account"] == w), "0")}
                        for w in wallets],
            "pending_gifts_sent": by_side.get(True, none),
            "pending_gifts_received": by_side.get(False, none),
            "indexed_block": indexed,
        }  # fmt: skip
