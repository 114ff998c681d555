"""Jitsi room tokens and EIP-712 redemption recovery, without services."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from eth_account import Account

from api.meetings.jitsi import room_token
from api.meetings.redemption import recover_holder
from api.settings import ApiSettings
from core.chain.eip712 import REDEMPTION_TYPES, Domain
from core.errors import RetryableError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DOMAIN = Domain("MeetingPass", "1", 31337, "0x" + "ab" * 20)


def settings(**values: object) -> ApiSettings:
    return ApiSettings(jitsi_app_secret="s" * 40, jitsi_app_id="app", jitsi_domain="meet.example", **values)


def test_a_room_token_carries_what_jitsi_checks_and_never_outlives_the_meeting() -> None:
    far = datetime.now(UTC) + timedelta(days=1)
    token = room_token(settings(), room="meet-x", user_id=7, name="0xabc", moderator=True, not_after=far)
    claims = jwt.decode(token["token"], "s" * 40, algorithms=["HS256"], audience="jitsi", issuer="app")
    assert (claims["sub"], claims["room"], claims["context"]["user"]) == (
        "meet.example",
        "meet-x",
        {"id": "7", "name": "0xabc", "moderator": True},
    )
    assert claims["nbf"] <= time.time() < claims["exp"] <= time.time() + 3600 + 1
    soon = datetime.now(UTC) + timedelta(seconds=90)
    short = room_token(settings(), room="meet-x", user_id=7, name="n", moderator=False, not_after=soon)
    assert jwt.decode(short["token"], "s" * 40, algorithms=["HS256"], audience="jitsi")["exp"] == int(soon.timestamp())


def test_a_placeholder_secret_issues_no_token_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_JWT_SECRET", "a-long-random-production-secret")
    prod = ApiSettings(environment="production")
    assert not prod.jitsi_configured and ApiSettings(environment="development").jitsi_configured
    with pytest.raises(RetryableError, match="API_JITSI_APP_SECRET"):
        room_token(prod, room="r", user_id=1, name="n", moderator=False, not_after=datetime.now(UTC))


def test_only_the_holders_canonical_signature_recovers_to_the_holder() -> None:
    holder = Account.create()
    message = {"tokenId": 3, "holder": holder.address, "deadline": 99}
    signed = holder.sign_typed_data(DOMAIN.as_dict(), {"Redemption": REDEMPTION_TYPES}, message).signature
    signature = "0x" + bytes(signed).hex()
    assert recover_holder(DOMAIN, 3, holder.address.lower(), 99, signature) == holder.address.lower()
    assert recover_holder(DOMAIN, 4, holder.address.lower(), 99, signature) != holder.address.lower()
    r, s, v = signed[:32], int.from_bytes(signed[32:64], "big"), signed[64]
    high_s = "0x" + (r + (N - s).to_bytes(32, "big") + bytes([55 - v])).hex()  # the same signature, malleated
    assert recover_holder(DOMAIN, 3, holder.address.lower(), 99, high_s) is None
    assert recover_holder(DOMAIN, 3, holder.address.lower(), 99, signature[:-2] + f"{v - 27:02x}") is None
    assert recover_holder(DOMAIN, 3, holder.address.lower(), 99, "0x" + "00" * 64 + "1b") is None
