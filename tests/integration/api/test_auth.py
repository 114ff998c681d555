"""Email + password accounts, JWT access tokens, rotating refresh tokens, OTP mail, roles."""

from __future__ import annotations

import time

import asyncpg
import jwt
from sanic import Sanic

from api.auth.tokens import signing_key
from api.settings import ApiSettings
from tests.fakes import FakeSmtpServer
from tests.integration.api.asgi import started_client
from tests.integration.api.conftest import make_app

PASSWORD = "correct horse battery"


async def signup(app: Sanic, email: str = "fan@example.com") -> dict:
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    return response.json["data"]


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_signup_login_me_and_the_verification_mail(app: Sanic, smtp: FakeSmtpServer) -> None:
    tokens = await signup(app, "Fan@Example.com")
    assert tokens["user"]["email"] == "fan@example.com" and tokens["user"]["role"] == "user"
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    _, me = await app.asgi_client.get("/api/auth/me", headers=bearer(tokens))
    assert me.status == 200 and me.json["data"]["email_verified"] is False

    code = smtp.code_for("fan@example.com")
    _, wrong = await app.asgi_client.post(
        "/api/auth/check-verification-otp",
        json={"email": "fan@example.com", "otp": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status == 400 and wrong.json["error"]["code"] == "invalid_otp"
    _, right = await app.asgi_client.post(
        "/api/auth/check-verification-otp", json={"email": "fan@example.com", "otp": code}
    )
    assert right.status == 200, right.text
    _, again = await app.asgi_client.post(
        "/api/auth/check-verification-otp", json={"email": "fan@example.com", "otp": code}
    )
    assert again.status == 400  # single use
    _, me = await app.asgi_client.get("/api/auth/me", headers=bearer(tokens))
    assert me.json["data"]["email_verified"] is True

    _, dup = await app.asgi_client.post("/api/auth/signup", json={"email": "fan@example.com", "password": PASSWORD})
    assert dup.status == 409 and dup.json["error"]["code"] == "conflict"
    _, bad = await app.asgi_client.post("/api/auth/login", json={"email": "fan@example.com", "password": "nope-nope"})
    assert bad.status == 401 and bad.json["error"]["details"]["reason"] == "bad_credentials"
    assert bad.headers["www-authenticate"] == "Bearer"
    _, nobody = await app.asgi_client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "x"})
    assert nobody.status == 401 and nobody.json["error"] == bad.json["error"]
    _, good = await app.asgi_client.post("/api/auth/login", json={"email": "FAN@example.com", "password": PASSWORD})
    assert good.status == 200 and good.json["data"]["user"]["id"] == tokens["user"]["id"]


async def test_tampered_expired_and_missing_access_tokens_are_rejected(app: Sanic, settings: ApiSettings) -> None:
    tokens = await signup(app)
    secret = signing_key(settings.jwt_secret.get_secret_value())
    header, _payload, signature = tokens["access_token"].split(".")
    claims = jwt.decode(tokens["access_token"], secret, algorithms=["HS256"], issuer="creator-api")
    forged_admin = jwt.encode(
        {**claims, "role": "admin"}, "another-secret-of-the-same-length-0123456789", algorithm="HS256"
    )
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, secret, algorithm="HS256")
    unsigned = jwt.encode({**claims, "role": "admin"}, key=None, algorithm="none")
    swapped = f"{header}.{forged_admin.split('.')[1]}.{signature}"
    cases = {
        "forged": forged_admin,
        "swapped_payload": swapped,
        "alg_none": unsigned,
        "expired": expired,
        "garbage": "not.a.jwt",
        "refresh_as_access": tokens["refresh_token"],
    }
    for name, token in cases.items():
        _, response = await app.asgi_client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 401, (name, response.text)
        assert response.json["error"]["code"] == "unauthenticated"
    _, expired_response = await app.asgi_client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert expired_response.json["error"]["details"]["reason"] == "expired"
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        _, response = await app.asgi_client.get("/api/auth/me", headers=headers)
        assert response.status == 401 and response.json["success"] is False


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(app: Sanic) -> None:
    first = await signup(app)
    _, second = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status == 200, second.text
    second_tokens = second.json["data"]
    assert second_tokens["refresh_token"] != first["refresh_token"]
    _, third = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": second_tokens["refresh_token"]})
    assert third.status == 200
    third_tokens = third.json["data"]

    # An attacker replays the first (already used) token: rejected, and the family is revoked ...
    _, replay = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status == 401 and replay.json["error"]["details"]["reason"] == "reused"
    # ... so the legitimate latest token no longer works either.
    _, latest = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": third_tokens["refresh_token"]})
    assert latest.status == 401
    _, unknown = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": "x" * 43})
    assert unknown.status == 401 and unknown.json["error"]["details"]["reason"] == "invalid"


async def test_logout_revokes_the_access_token_and_the_session(app: Sanic) -> None:
    tokens = await signup(app)
    _, out = await app.asgi_client.post(
        "/api/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=bearer(tokens)
    )
    assert out.status == 200, out.text
    _, me = await app.asgi_client.get("/api/auth/me", headers=bearer(tokens))
    assert me.status == 401 and me.json["error"]["details"]["reason"] == "revoked"
    _, refresh = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status == 401


async def test_password_reset_by_mailed_code_signs_out_every_session(app: Sanic, smtp: FakeSmtpServer) -> None:
    tokens = await signup(app, "reset@example.com")
    _, sent = await app.asgi_client.post("/api/auth/forget-password/email-otp", json={"email": "reset@example.com"})
    assert sent.status == 200
    _, ghost = await app.asgi_client.post("/api/auth/forget-password/email-otp", json={"email": "ghost@example.com"})
    assert ghost.status == 200 and ghost.json == sent.json  # no account enumeration
    code = smtp.code_for("reset@example.com")
    assert "Reset" in str(smtp.messages[-1]["Subject"])
    body = {"email": "reset@example.com", "otp": code, "password": "a brand new password"}
    _, reset = await app.asgi_client.post("/api/auth/reset-password/email-otp", json=body)
    assert reset.status == 200, reset.text
    _, old_session = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert old_session.status == 401
    _, login = await app.asgi_client.post(
        "/api/auth/login", json={"email": "reset@example.com", "password": "a brand new password"}
    )
    assert login.status == 200


async def test_otp_attempts_are_limited(app: Sanic, smtp: FakeSmtpServer, settings: ApiSettings) -> None:
    await signup(app, "guess@example.com")
    code = smtp.code_for("guess@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(settings.otp_max_attempts):
        _, response = await app.asgi_client.post(
            "/api/auth/check-verification-otp", json={"email": "guess@example.com", "otp": wrong}
        )
        assert response.status == 400
    _, late = await app.asgi_client.post(
        "/api/auth/check-verification-otp", json={"email": "guess@example.com", "otp": code}
    )
    assert late.status == 400  # the budget is spent: the right code no longer works


async def test_roles_are_enforced_by_the_decorators(app: Sanic, pool: asyncpg.Pool) -> None:
    user = await signup(app, "user@example.com")
    admin = await signup(app, "admin@example.com")
    path = f"/api/admin/users/{user['user']['id']}/role"
    _, forbidden = await app.asgi_client.put(path, json={"role": "creator"}, headers=bearer(user))
    assert forbidden.status == 403 and forbidden.json["error"]["code"] == "forbidden"
    await pool.execute("UPDATE users SET role = 'admin' WHERE id = $1", admin["user"]["id"])
    _, fresh = await app.asgi_client.post("/api/auth/refresh", json={"refresh_token": admin["refresh_token"]})
    admin_tokens = fresh.json["data"]
    assert admin_tokens["user"]["role"] == "admin"
    _, changed = await app.asgi_client.put(path, json={"role": "creator"}, headers=bearer(admin_tokens))
    assert changed.status == 200 and changed.json["data"]["role"] == "creator", changed.text
    _, bad_role = await app.asgi_client.put(path, json={"role": "root"}, headers=bearer(admin_tokens))
    assert bad_role.status == 400
    _, missing = await app.asgi_client.put(
        "/api/admin/users/999999/role", json={"role": "user"}, headers=bearer(admin_tokens)
    )
    assert missing.status == 404


async def test_mail_goes_to_the_outbox_directory_without_smtp(settings: ApiSettings, tmp_path: object) -> None:
    from pathlib import Path  # noqa: PLC0415

    outbox = Path(str(tmp_path)) / "outbox"
    app = make_app(settings.model_copy(update={"outbox_dir": outbox}))
    await signup(app, "dev@example.com")
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1 and b"To: dev@example.com" in files[0].read_bytes()


async def test_signup_survives_an_unreachable_mail_server(settings: ApiSettings) -> None:
    from anvil.node import free_port  # noqa: PLC0415
    from api.app import create_app  # noqa: PLC0415
    from api.mail import SmtpMailer  # noqa: PLC0415

    app = started_client(
        create_app(settings, name="api_it_no_smtp", mailer=SmtpMailer("127.0.0.1", free_port(), "no-reply@test"))
    )
    tokens = await signup(app, "offline@example.com")
    assert tokens["user"]["email_verified"] is False
    _, resend = await app.asgi_client.post("/api/auth/send-verification-otp", json={"email": "offline@example.com"})
    assert resend.status == 503 and resend.json["error"]["code"] == "unavailable"
