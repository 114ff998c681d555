"""Sign-In With Ethereum (EIP-4361): single-use nonces in Redis, then message + signature checks."""

from __future__ import annotations

import secrets
import warnings
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from redis.asyncio import Redis

from api.domain_errors import Unauthenticated
from core.errors import InvalidInput

with warnings.catch_warnings():
    # abnf 2.8.3 warns about siwe's grammar redefining core rules, once, at import.
    warnings.simplefilter("ignore")
    import siwe

SKEW = timedelta(seconds=60)


def _key(nonce: str) -> str:
    return f"siwe:nonce:{nonce}"


async def new_nonce(redis: Redis, ttl: int) -> str:
    nonce = secrets.token_hex(16)  # EIP-4361: at least 8 alphanumeric characters
    await redis.set(_key(nonce), "1", ex=ttl)
    return nonce


def _rejected(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(message, details={"reason": reason})


def _parse_time(value: object) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_message(
    text: str, signature: str, *, domain: str, chain_id: int, max_age: int, now: datetime | None = None
) -> siwe.SiweMessage:
    """Parse and verify everything but the nonce's freshness; raise on any mismatch."""
    now = now or datetime.now(UTC)
    try:
        msg = siwe.SiweMessage.from_message(text)
    except Exception as exc:  # the parser raises several kinds; all mean "malformed"
        raise InvalidInput("not an EIP-4361 message") from exc
    if msg.domain != domain:
        raise _rejected("wrong_domain", f"the message is for {msg.domain!r}, not {domain!r}")
    if urlsplit(str(msg.uri)).netloc != domain:
        raise _rejected("wrong_uri", "the message's URI is not on this domain")
    if int(msg.chain_id) != chain_id:
        raise _rejected("wrong_chain", f"the message is for chain {msg.chain_id}, not {chain_id}")
    try:
        issued = _parse_time(msg.issued_at)
        expires = _parse_time(msg.expiration_time) if msg.expiration_time else issued + timedelta(seconds=max_age)
        not_before = _parse_time(msg.not_before) if msg.not_before else None
    except ValueError as exc:
        raise InvalidInput("the message's timestamps are malformed") from exc
    if issued > now + SKEW or (not_before is not None and not_before > now + SKEW):
        raise _rejected("not_yet_valid", "the message is not valid yet")
    if expires <= now or issued + timedelta(seconds=max_age) < now:
        raise _rejected("expired", "the message has expired")
    # The time checks above (with SKEW) are the policy; siwe's own (no skew) would turn a Not Before
    # inside the window into a signature failure, so it verifies at a moment inside the validity window.
    at = now if not_before is None or now > not_before else not_before + timedelta(microseconds=1)
    try:
        msg.verify(signature, domain=domain, nonce=msg.nonce, timestamp=at)
    except siwe.ExpiredMessage as exc:
        raise _rejected("expired", "the message has expired") from exc
    except siwe.NotYetValidMessage as exc:
        raise _rejected("not_yet_valid", "the message is not valid yet") from exc
    except Exception as exc:  # bad signatures surface as several error types
        raise _rejected("bad_signature", "the signature does not match the message's address") from exc
    return msg


async def consume_nonce(redis: Redis, nonce: str) -> None:
    if await redis.getdel(_key(nonce)) is None:
        raise _rejected("bad_nonce", "the nonce is unknown, expired or already used")
