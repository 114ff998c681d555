"""One OpenID Connect provider: discovery, the authorization URL (PKCE S256), the code exchange, and
the ID token's verification against the provider's JWKS.

The ID token's signature is checked with joserfc (authlib's JOSE library: authlib 1.9 deprecates
``authlib.jose`` for it, and ``authlib.oidc.core`` raises its errors) and its claims with
``authlib.oidc.core.CodeIDToken`` (issuer, audience, expiry, issued-at, nonce, azp). The algorithm
comes from the JWKS key named by the token's ``kid`` (its ``alg``, else the one its key type signs
with): a token whose header names another algorithm — ``none``, or HS256 "signed" with the public
key — is refused before any signature check.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from api.domain_errors import Unauthenticated
from api.settings import OidcProvider
from core.errors import ServiceUnavailable

# What a key type signs with when its JWK names no ``alg``; only asymmetric algorithms are accepted.
DEFAULT_ALG = {("RSA", None): "RS256", ("EC", "P-256"): "ES256", ("EC", "P-384"): "ES384", ("OKP", "Ed25519"): "EdDSA"}
ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
JWKS_REFRESH_AFTER = 60.0  # an unknown kid refetches the JWKS at most this often (key rotation)
LEEWAY = 60  # seconds of clock skew allowed on exp / iat


def _refused(reason: str, message: str = "the ID token is not acceptable") -> Unauthenticated:
    return Unauthenticated(message, details={"reason": reason})


class OidcClient:
    """A provider's endpoints (discovered once per process) and JWKS (cached, refetched on an unknown kid)."""

    def __init__(self, name: str, config: OidcProvider, redirect_uri: str, timeout: float) -> None:
        self.name = name
        self.config = config
        self.redirect_uri = redirect_uri
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] = {"keys": []}
        self._jwks_at = 0.0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http().get(url) as response:
                body: Any = await response.json(content_type=None)
                if response.status != 200 or not isinstance(body, dict):
                    raise ServiceUnavailable(f"{self.name}: {url} answered {response.status}")
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ServiceUnavailable(f"{self.name}: {url} is unreachable", details={"provider": self.name}) from exc

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            issuer = self.config.issuer.rstrip("/")
            found = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if found.get("issuer") != self.config.issuer or not all(
                isinstance(found.get(k), str) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            ):
                raise ServiceUnavailable(f"{self.name}: the discovery document does not match its issuer")
            self._metadata = found
        return self._metadata

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.config.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def exchange(self, code: str, code_verifier: str) -> str:
        """The ID token the token endpoint gives for ``code`` (client_secret_basic, PKCE verifier)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        pair = f"{quote(self.config.client_id, safe='')}:{quote(self.config.client_secret.get_secret_value(), safe='')}"
        headers = {"Accept": "application/json", "Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"}
        url = (await self.metadata())["token_endpoint"]
        try:
            async with self._http().post(url, data=form, headers=headers) as response:
                body: Any = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ServiceUnavailable(f"{self.name}: the token endpoint is unreachable") from exc
        if response.status >= 500:
            raise ServiceUnavailable(f"{self.name}: the token endpoint answered {response.status}")
        if response.status != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise _refused("code_rejected", f"{self.name} refused the authorization code ({error or response.status})")
        return str(body["id_token"])

    async def _key_for(self, kid: str | None) -> dict[str, Any]:
        for attempt in range(2):
            if attempt or not self._jwks["keys"]:
                if self._jwks["keys"] and time.monotonic() - self._jwks_at < JWKS_REFRESH_AFTER:
                    break
                self._jwks = await self._get_json((await self.metadata())["jwks_uri"])
                self._jwks_at = time.monotonic()
            keys = [k for k in self._jwks.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
            match = [k for k in keys if k.get("kid") == kid] if kid else keys[:1] if len(keys) == 1 else []
            if match:
                return match[0]
        raise _refused("unknown_key", "the ID token is signed with a key the provider does not publish")

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once signature, issuer, audience, expiry and nonce all check out."""
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError) as exc:
            raise _refused("malformed") from exc
        jwk = await self._key_for(header.get("kid") if isinstance(header.get("kid"), str) else None)
        kty = jwk.get("kty")
        alg = jwk.get("alg") or DEFAULT_ALG.get((str(kty), None if kty == "RSA" else jwk.get("crv")))
        if alg not in ASYMMETRIC or header.get("alg") != alg:
            raise _refused("bad_algorithm", "the ID token's algorithm is not its key's")
        try:
            token = jwt.decode(id_token, JWKRegistry.import_key(jwk), algorithms=[alg])
        except (JoseError, ValueError) as exc:
            raise _refused("bad_signature") from exc
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "value": self.config.client_id},
            },
            params={"nonce": nonce, "client_id": self.config.client_id},
        )
        try:
            claims.validate(now=int(time.time()), leeway=LEEWAY)
        except JoseError as exc:
            raise _refused(str(getattr(exc, "error", "invalid_claims"))) from exc
        audience = token.claims.get("aud")
        if self.config.client_id not in (audience if isinstance(audience, list) else [audience]):
            raise _refused("invalid_claim")
        return dict(token.claims)
