"""A local OpenID Connect provider speaking the wire format the API's client (authlib + joserfc) reads:

- ``GET /.well-known/openid-configuration`` (discovery) and ``GET /jwks`` (its RSA key, generated here);
- ``GET /authorize`` records the request (client, redirect URI, state, nonce, S256 code challenge) and
  answers 302 to ``redirect_uri?code=…&state=…`` as a consenting user would;
- ``POST /token`` (form, ``client_secret_basic``) checks the code once, the redirect URI and the PKCE
  verifier against the challenge, and returns an RS256 ID token for the user.

The user and the token's claims are set per test (``user``, ``overrides``); ``forge`` makes the token
hostile (``none``: unsigned; ``hs256``: HMAC "signed" with the public key; ``unknown_kid``: signed with a
key the JWKS does not publish).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from anvil.node import free_port

CLIENT_ID = "creator-app"
CLIENT_SECRET = "fake-oidc-client-secret-0123456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeOidcProvider:
    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "fake-1", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "not-published", "use": "sig"})
        self.user: dict[str, Any] = {"sub": "user-1", "email": "fan@example.com", "email_verified": True}
        self.overrides: dict[str, Any] = {}
        self.forge: str | None = None
        self.requests: list[dict[str, str]] = []
        self.token_calls: list[dict[str, str]] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeOidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ what the endpoints answer
    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, params: dict[str, str]) -> str:
        """The redirect a consenting user's browser follows back to the client."""
        assert params["client_id"] == CLIENT_ID and params["response_type"] == "code", params
        assert params["code_challenge_method"] == "S256", params
        self.requests.append(params)
        code = secrets.token_urlsafe(16)
        self._codes[code] = params
        return f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}"

    def id_token(self, request: dict[str, str]) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": request["nonce"]}
        claims.update(self.user)
        claims.update(self.overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        if self.forge == "none":
            return f"{_b64(json.dumps({'alg': 'none', 'kid': 'fake-1'}).encode())}.{_b64(json.dumps(claims).encode())}."
        if self.forge == "hs256":
            head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "fake-1"}).encode())
            body = _b64(json.dumps(claims).encode())
            mac = hmac.new(self.key.as_pem(private=False), f"{head}.{body}".encode(), hashlib.sha256).digest()
            return f"{head}.{body}.{_b64(mac)}"
        key = self.other_key if self.forge == "unknown_kid" else self.key
        return jwt.encode({"alg": "RS256", "kid": str(key.kid)}, claims, key)

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_calls.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if not hmac.compare_digest(authorization, expected):
            return 401, {"error": "invalid_client"}
        request = self._codes.pop(form.get("code", ""), None)
        if request is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        challenge = _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if form.get("redirect_uri") != request["redirect_uri"] or challenge != request["code_challenge"]:
            return 400, {"error": "invalid_grant"}
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "id_token": self.id_token(request),
        }

    # ------------------------------------------------------------------ HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, fake.discovery())
                elif url.path == "/jwks":
                    self._json(200, {"keys": [fake.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    location = fake.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                self._json(*fake.token(form, self.headers.get("Authorization", "")))

        return Handler
