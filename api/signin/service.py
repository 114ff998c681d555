"""Sign-in with OpenID Connect: start (state, nonce, PKCE verifier kept in Postgres, single use), the
callback (code exchange, ID token check, the account), the one-time code the browser trades for our
tokens, and the identities an account links and unlinks.

Which account an identity signs in to: the one it is linked to; else the signed-in account that started
the flow (explicit linking); else the account whose email the provider says is *verified* — and only if
that account verified it too; else a new account (with the email only when the provider verified it).
An unverified provider email that matches an account is refused (no takeover by an unverified address).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from api.auth.service import AuthService
from api.domain_errors import Unauthenticated
from api.settings import ApiSettings
from api.signin.oidc import OidcClient
from core.db import Queries, translate_errors
from core.errors import Conflict, InvalidInput, NotFound

QUERIES = Queries(Path(__file__).with_name("queries.sql"))


def clients_from(settings: ApiSettings) -> dict[str, OidcClient]:
    base = settings.oidc_redirect_base.rstrip("/")
    return {
        name: OidcClient(
            name,
            provider,
            f"{base}/api/auth/google/callback" if name == "google" else f"{base}/api/auth/oidc/{name}/callback",
            settings.oidc_timeout,
        )
        for name, provider in settings.sign_in_providers().items()
    }


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _verified(claims: dict[str, Any]) -> bool:
    value = claims.get("email_verified")
    return value is True or value == "true"  # some providers send the string


class SignIn:
    def __init__(self, pool: asyncpg.Pool, auth: AuthService, clients: dict[str, OidcClient], settings: ApiSettings):
        self.pool = pool
        self.auth = auth
        self.clients = clients
        self.settings = settings
        self.q = QUERIES

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()

    def _client(self, provider: str) -> OidcClient:
        client = self.clients.get(provider)
        if client is None:
            raise NotFound("no such sign-in provider", details={"provider": provider})
        return client

    def providers(self) -> list[dict[str, str]]:
        return [{"name": name, "issuer": c.config.issuer} for name, c in self.clients.items()]

    async def start(self, provider: str, link_user_id: int | None = None) -> str:
        """The provider's authorization URL for a new, stored state/nonce/verifier."""
        client = self._client(provider)
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        async with translate_errors():
            await self.pool.execute(
                self.q.insert_login, state, provider, nonce, verifier, link_user_id, float(self.settings.oidc_login_ttl)
            )
        return await client.authorization_url(state, nonce, verifier)

    async def callback(self, provider: str, state: str, code: str | None, error: str | None) -> str:
        """Where the browser goes next: the app's return URL with a one-time code in the fragment."""
        client = self._client(provider)
        async with translate_errors():
            login = await self.pool.fetchrow(self.q.take_login, state)
        if login is None or login["expired"] or login["provider"] != provider:
            raise Unauthenticated("unknown, used or expired sign-in state", details={"reason": "bad_state"})
        if error is not None or code is None:
            raise Unauthenticated("the provider did not sign you in", details={"reason": error or "no_code"})
        claims = await client.verify(await client.exchange(code, login["code_verifier"]), login["nonce"])
        user_id = await self._account_for(provider, claims, login["link_user_id"])
        one_time = secrets.token_urlsafe(32)
        async with translate_errors():
            await self.pool.execute(
                self.q.insert_signin_code, _digest(one_time), user_id, float(self.settings.signin_code_ttl)
            )
        return f"{self.settings.oidc_return_url}#{urlencode({'code': one_time, 'provider': provider})}"

    async def _account_for(self, provider: str, claims: dict[str, Any], link_to: int | None) -> int:
        subject = str(claims["sub"])
        email = str(claims["email"]).strip().lower() if isinstance(claims.get("email"), str) else None
        verified = email is not None and _verified(claims)
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            owner = await conn.fetchval(self.q.identity_for_update, provider, subject)
            if owner is not None:
                if link_to is not None and owner != link_to:
                    raise Conflict("this identity is linked to another account", details={"provider": provider})
                return int(owner)
            user_id = link_to
            if user_id is None and email is not None:
                existing = await conn.fetchrow(self.q.user_by_email_for_update, email)
                if existing is not None and not (verified and existing["email_verified"]):
                    raise Conflict(
                        "an account with this email exists: sign in to it and link this provider",
                        details={"reason": "email_not_verified", "provider": provider},
                    )
                user_id = existing["id"] if existing is not None else None
            if user_id is None:
                user_id = await conn.fetchval(self.q.create_oidc_user, email if verified else None, verified)
            try:
                await conn.execute(self.q.insert_identity, provider, subject, user_id, email, verified)
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("this account already links another identity of this provider") from exc
            return int(user_id)

    async def exchange(self, code: str) -> dict[str, Any]:
        """Our tokens for the callback's one-time code (once, within SIGNIN_CODE_TTL)."""
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.take_signin_code, _digest(code))
        if row is None or row["expired"]:
            raise InvalidInput("the sign-in code is unknown, used or expired", details={"reason": "bad_code"})
        return await self.auth.start_session(int(row["user_id"]))

    async def identities(self, user_id: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.identities_of, user_id)
        return [{**dict(r), "linked_at": r["linked_at"].isoformat()} for r in rows]

    async def unlink(self, user_id: int, provider: str) -> None:
        """Unlink ``provider``'s identity; never the account's last way to sign in."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            methods = await conn.fetchval(self.q.sign_in_methods_for_update, user_id)
            if await conn.fetchval(self.q.delete_identity, user_id, provider) is None:
                raise NotFound("this account links no identity of this provider", details={"provider": provider})
            if methods is None or methods <= 1:
                raise Conflict(
                    "this is the account's last way to sign in: set a password or link another first",
                    details={"reason": "last_method"},
                )

    async def purge(self, grace_s: int) -> int:
        """Delete authorization requests and one-time codes expired over ``grace_s`` ago."""
        async with translate_errors():
            return int(await self.pool.fetchval(self.q.purge_sign_in, float(grace_s)))
