"""Payout details (README "Payout details"): validated, sealed with AES-256-GCM under API_PAYOUT_KEY
(the user id as associated data, so a ciphertext moved to another row does not open), shown masked."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.auth.service import verify_password
from api.domain_errors import Forbidden
from api.settings import ApiSettings
from api.verify.schemas import PayoutBody
from core.db import Queries, translate_errors
from core.errors import ConfigError, InvalidInput, NotFound, ServiceUnavailable

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
_NONCE = 12


def _key(settings: ApiSettings) -> AESGCM:
    return AESGCM(hashlib.sha256(settings.payout_key.get_secret_value().encode()).digest())


def seal(aead: AESGCM, user_id: int, details: dict[str, str]) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + aead.encrypt(nonce, json.dumps(details).encode(), str(user_id).encode())


def unseal(aead: AESGCM, user_id: int, blob: bytes) -> dict[str, str]:
    try:
        plain = aead.decrypt(blob[:_NONCE], blob[_NONCE:], str(user_id).encode())
    except InvalidTag as exc:
        raise ConfigError("payout details do not open under API_PAYOUT_KEY (a changed key?)") from exc
    opened: dict[str, str] = json.loads(plain)
    return opened


def iban_valid(iban: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def routing_valid(number: str) -> bool:
    """An ABA routing number: 9 digits with its 3-7-1 checksum."""
    if not re.fullmatch(r"[0-9]{9}", number):
        return False
    d = [int(c) for c in number]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


def details_of(body: PayoutBody) -> tuple[dict[str, str], str]:
    """The details to seal and their masked form; 400 for details that are not valid."""
    holder = body.account_holder.strip()
    if body.method == "iban":
        iban = re.sub(r"\s+", "", body.iban or "").upper()
        if not iban_valid(iban):
            raise InvalidInput("not a valid IBAN", details={"field": "iban"})
        return {"iban": iban, "account_holder": holder}, f"{iban[:2]}•• •••• {iban[-4:]}"
    if body.method == "account":
        account, routing = (body.account_number or "").strip(), (body.routing_number or "").strip()
        if not re.fullmatch(r"[0-9]{4,17}", account):
            raise InvalidInput("an account number is 4 to 17 digits", details={"field": "account_number"})
        if not routing_valid(routing):
            raise InvalidInput("not a valid routing number", details={"field": "routing_number"})
        details = {"account_number": account, "routing_number": routing, "account_holder": holder}
        return details, f"•••• {account[-4:]} (routing •••• {routing[-4:]})"
    address = (body.wallet_address or "").strip().lower()
    if not re.fullmatch(r"0x[0-9a-f]{40}", address):
        raise InvalidInput("a wallet address is 0x and 40 hex digits", details={"field": "wallet_address"})
    return {"wallet_address": address}, f"{address[:6]}…{address[-4:]}"


def payout_view(row: asyncpg.Record) -> dict[str, Any]:
    return {"method": row["method"], "masked": row["masked"], "updated_at": row["updated_at"].isoformat()}


class Payouts:
    def __init__(self, pool: asyncpg.Pool, settings: ApiSettings) -> None:
        self.pool = pool
        self.settings = settings
        self.q = QUERIES

    def _aead(self) -> AESGCM:
        if not self.settings.payouts_configured:
            raise ServiceUnavailable("payout details are not configured (API_PAYOUT_KEY)")
        return _key(self.settings)

    async def get(self, user_id: int) -> dict[str, Any]:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.payout, user_id)
        if row is None:
            raise NotFound("no payout details yet")
        return payout_view(row)

    async def put(self, user_id: int, body: PayoutBody) -> dict[str, Any]:
        """Replace the payout details after a fresh check of the current password."""
        aead = self._aead()
        async with translate_errors():
            hashed = await self.pool.fetchval(self.q.password_hash, user_id)
        if hashed is None:
            raise Forbidden(
                "set a password first: payout details change only with it", details={"reason": "no_password"}
            )
        if not await verify_password(hashed, body.current_password):
            raise Forbidden("the current password is wrong", details={"reason": "password"})
        details, masked = details_of(body)
        async with translate_errors():
            row = await self.pool.fetchrow(
                self.q.upsert_payout, user_id, body.method, masked, seal(aead, user_id, details)
            )
        return payout_view(row)

    async def reveal(self, user_id: int) -> dict[str, str]:
        """The full details (for the payout run; no route returns them)."""
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.payout, user_id)
        if row is None:
            raise NotFound("no payout details yet")
        return unseal(self._aead(), user_id, bytes(row["ciphertext"]))
