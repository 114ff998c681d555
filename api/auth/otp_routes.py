"""Email one-time codes: passwordless sign-in, email verification and password reset (paths of the source system)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.schemas import EmailBody, OtpBody, ResetPasswordBody, Tokens
from api.auth.service import AuthService
from api.errors import ok
from api.inputs import parse_body
from api.openapi import doc
from api.protect.ratelimit import rate_limit
from api.schemas import Done
from api.services import services

bp = Blueprint("otp", url_prefix="/api/auth")


def _ctx(request: Request) -> AuthService:
    ctx = services(request)
    return ctx.auth


@bp.post("/send-verification-otp")
@doc(
    "Mail a code to verify the address (same answer whether or not it has an account)",
    tag="otp",
    body=EmailBody,
    response=Done,
)
@rate_limit("auth")
async def send_verification(request: Request) -> HTTPResponse:
    body = parse_body(request, EmailBody)
    await _ctx(request).send_otp(body.email, "verify_email")
    return ok({"done": True})


@bp.post("/check-verification-otp")
@doc("Verify the email address with the mailed code", tag="otp", body=OtpBody, response=Done)
@rate_limit("auth")
async def check_verification(request: Request) -> HTTPResponse:
    body = parse_body(request, OtpBody)
    await _ctx(request).verify_email(body.email, body.otp)
    return ok({"done": True})


@bp.post("/forget-password/email-otp")
@doc(
    "Mail a password-reset code (same answer whether or not the account exists)",
    tag="otp",
    body=EmailBody,
    response=Done,
)
@rate_limit("auth")
async def forget_password(request: Request) -> HTTPResponse:
    body = parse_body(request, EmailBody)
    await _ctx(request).send_otp(body.email, "reset_password")
    return ok({"done": True})


@bp.post("/reset-password/email-otp")
@doc(
    "Set a new password with the mailed code; signs out every session", tag="otp", body=ResetPasswordBody, response=Done
)
@rate_limit("auth")
async def reset_password(request: Request) -> HTTPResponse:
    body = parse_body(request, ResetPasswordBody)
    await _ctx(request).reset_password(body.email, body.otp, body.password)
    return ok({"done": True})


@bp.post("/signin/email-otp/send")
@doc(
    "Mail a sign-in code (an address without an account gets one; the same answer either way)",
    tag="otp",
    body=EmailBody,
    response=Done,
)
@rate_limit("auth")
async def send_sign_in(request: Request) -> HTTPResponse:
    body = parse_body(request, EmailBody)
    await _ctx(request).send_sign_in_code(body.email)
    return ok({"done": True})


@bp.post("/signin/email-otp")
@doc("Sign in with the mailed code (passwordless)", tag="otp", body=OtpBody, response=Tokens)
@rate_limit("auth")
async def sign_in(request: Request) -> HTTPResponse:
    body = parse_body(request, OtpBody)
    return ok(await _ctx(request).email_sign_in(body.email, body.otp))
