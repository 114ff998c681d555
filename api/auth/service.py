"""Sessions: signup/login, token issue and rotation, logout, SIWE sign-in, email OTP flows."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from redis.asyncio import Redis

from api.accounts.service import Accounts, user_dict
from api.auth import siwe
from api.auth.passwords import hash_password, verify_password
from api.auth.tokens import (
    Claims,
    decode_access_token,
    digest,
    issue_access_token,
    new_refresh_token,
    signing_key,
)
from api.domain_errors import InvalidCode, Unauthenticated
from api.mail import Mailer
from api.settings import ApiSettings
from core.errors import Conflict, NotFound, ServiceUnavailable

log = logging.getLogger("api.auth")
PURPOSES = {"verify_email": "Verify your email", "reset_password": "Reset your password", "sign_in": "Sign in"}


class AuthService:
    def __init__(self, settings: ApiSettings, accounts: Accounts, redis: Redis, mailer: Mailer, chain_id: int):
        self.settings = settings
        self.accounts = accounts
        self.redis = redis
        self.mailer = mailer
        self.chain_id = chain_id
        self._secret = signing_key(settings.jwt_secret.get_secret_value())

    # ------------------------------------------------------------------ tokens
    async def _tokens(self, user_id: int) -> dict[str, Any]:
        profile = await self.accounts.profile(user_id)
        if profile is None:
            raise Unauthenticated("the account no longer exists")
        access = issue_access_token(self._secret, user_id, profile["role"], self.settings.access_token_ttl)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl,
            "user": profile,
        }

    async def start_session(self, user_id: int) -> dict[str, Any]:
        refresh, refresh_hash = new_refresh_token()
        await self.accounts.start_family(user_id, refresh_hash, self.settings.refresh_token_ttl)
        return {**await self._tokens(user_id), "refresh_token": refresh}

    async def authenticate(self, token: str) -> Claims:
        claims = decode_access_token(self._secret, token)
        if await self.redis.exists(f"jwt:revoked:{claims.jti}"):
            raise Unauthenticated("the access token was revoked", details={"reason": "revoked"})
        return claims

    async def refresh(self, token: str) -> dict[str, Any]:
        successor, successor_hash = new_refresh_token()
        user_id = await self.accounts.rotate(digest(token), successor_hash, self.settings.refresh_token_ttl)
        return {**await self._tokens(user_id), "refresh_token": successor}

    async def logout(self, claims: Claims, refresh_token: str | None) -> None:
        if refresh_token:
            await self.accounts.revoke(digest(refresh_token), claims.user_id)
        ttl = claims.expires_at - int(time.time())
        if ttl > 0:
            await self.redis.set(f"jwt:revoked:{claims.jti}", "1", ex=ttl)

    # ------------------------------------------------------------------ email + password
    async def signup(self, email: str, password: str) -> dict[str, Any]:
        email = email.strip().lower()
        try:
            row = await self.accounts.create_user(email, await hash_password(password))
        except Conflict as exc:
            raise Conflict("an account with this email exists", details={"field": "email"}) from exc
        try:
            await self.send_otp(email, "verify_email")
        except ServiceUnavailable as exc:  # the account exists; a new code can be asked for later
            log.warning("signup of user %s: the verification mail was not sent: %s", row["id"], exc.message)
        return await self.start_session(row["id"])

    async def login(self, email: str, password: str) -> dict[str, Any]:
        row = await self.accounts.by_email(email.strip().lower())
        if not await verify_password(row["password_hash"] if row else None, password) or row is None:
            raise Unauthenticated("wrong email or password", details={"reason": "bad_credentials"})
        return await self.start_session(row["id"])

    async def me(self, user_id: int) -> dict[str, Any]:
        profile = await self.accounts.profile(user_id)
        if profile is None:
            raise NotFound("the account no longer exists")
        return profile

    async def set_role(self, user_id: int, role: str) -> dict[str, Any]:
        row = await self.accounts.set_role(user_id, role)
        if row is None:
            raise NotFound("no such user", details={"id": user_id})
        return user_dict(row, await self.accounts.wallets(user_id))

    # ------------------------------------------------------------------ SIWE
    async def siwe_nonce(self) -> dict[str, Any]:
        nonce = await siwe.new_nonce(self.redis, self.settings.siwe_nonce_ttl)
        return {
            "nonce": nonce,
            "expires_in": self.settings.siwe_nonce_ttl,
            "domain": self.settings.siwe_domain,
            "chain_id": self.chain_id,
        }

    async def siwe_sign_in(self, message: str, signature: str, link_to: int | None) -> dict[str, Any]:
        msg = siwe.check_message(
            message,
            signature,
            domain=self.settings.siwe_domain,
            chain_id=self.chain_id,
            max_age=self.settings.siwe_max_age,
        )
        await siwe.consume_nonce(self.redis, str(msg.nonce))
        user_id = await self.accounts.user_for_wallet(str(msg.address).lower(), link_to)
        return await self.start_session(user_id)

    # ------------------------------------------------------------------ email OTPs
    def _otp_hash(self, user_id: int, purpose: str, code: str) -> str:
        return hmac.new(self._secret.encode(), f"{purpose}:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()

    async def send_otp(self, email: str, purpose: str) -> None:
        """Mail a code if the account exists (the answer is the same either way)."""
        row = await self.accounts.by_email(email.strip().lower())
        if row is None or (purpose == "verify_email" and row["email_verified"]):
            return
        code = f"{secrets.randbelow(10**6):06d}"
        await self.accounts.new_otp(row["id"], purpose, self._otp_hash(row["id"], purpose, code), self.settings.otp_ttl)
        minutes = max(1, self.settings.otp_ttl // 60)
        await self.mailer.send(
            row["email"], f"{PURPOSES[purpose]}: {code}", f"Your code is {code}. It expires in {minutes} minutes."
        )

    async def _check_otp(self, email: str, purpose: str, code: str) -> int:
        row = await self.accounts.by_email(email.strip().lower())
        if row is None or not await self.accounts.check_otp(
            row["id"], purpose, self._otp_hash(row["id"], purpose, code), self.settings.otp_max_attempts
        ):
            raise InvalidCode("the code is wrong, used or expired")
        return int(row["id"])

    async def send_sign_in_code(self, email: str) -> None:
        """Mail a sign-in code; an address without an account gets one (created unverified, no password)."""
        email = email.strip().lower()
        if await self.accounts.by_email(email) is None:
            with contextlib.suppress(Conflict):  # created meanwhile by another request
                await self.accounts.create_user(email, None)
        await self.send_otp(email, "sign_in")

    async def email_sign_in(self, email: str, code: str) -> dict[str, Any]:
        """Sign in with a mailed code. The first code proves the mailbox: the email becomes verified and a
        password or session set up before by whoever registered the unverified address is revoked."""
        user_id = await self._check_otp(email, "sign_in", code)
        if await self.accounts.claim_email(user_id):
            await self.accounts.revoke_all(user_id)
        return await self.start_session(user_id)

    async def verify_email(self, email: str, code: str) -> None:
        await self.accounts.set_email_verified(await self._check_otp(email, "verify_email", code))

    async def reset_password(self, email: str, code: str, password: str) -> None:
        user_id = await self._check_otp(email, "reset_password", code)
        await self.accounts.set_password(user_id, await hash_password(password))
        await self.accounts.revoke_all(user_id)
