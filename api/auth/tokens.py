"""JWT access tokens (HS256, short-lived) and opaque refresh tokens (only their digest is stored)."""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from api.domain_errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "creator-api"


@dataclass(frozen=True)
class Claims:
    user_id: int
    role: str
    jti: str
    expires_at: int


def signing_key(secret: str) -> str:
    """A 256-bit HMAC key derived from the configured secret (PyJWT wants >= 32 bytes).

    Derivation adds no entropy: production still needs a long random ``API_JWT_SECRET``."""
    return hashlib.sha256(b"creator-api/jwt/v1:" + secret.encode()).hexdigest()


def issue_access_token(secret: str, user_id: int, role: str, ttl: int) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(secret: str, token: str) -> Claims:
    """The claims of a valid, unexpired access token. A token's signature and claims are checked once per
    process (a client sends the same token for its whole life): the verified claims are kept, and only the
    expiry is checked again on later uses (revocation is the caller's Redis check, on every request)."""
    claims = _verified(secret, token)
    if claims.expires_at <= time.time():
        raise Unauthenticated("the access token has expired", details={"reason": "expired"})
    return claims


@functools.lru_cache(maxsize=8192)
def _verified(secret: str, token: str) -> Claims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "jti", "typ", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the access token has expired", details={"reason": "expired"}) from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("the access token is invalid", details={"reason": "invalid"}) from exc
    if payload.get("typ") != "access" or not str(payload["sub"]).isdigit():
        raise Unauthenticated("the access token is invalid", details={"reason": "invalid"})
    return Claims(int(payload["sub"]), str(payload["role"]), str(payload["jti"]), int(payload["exp"]))


def new_refresh_token() -> tuple[str, str]:
    """A fresh refresh token and the digest stored for it."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
