"""Sign-in, tokens, SIWE, OTPs and roles: request and response models (pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model
from api.schemas import EMAIL, Role


class Credentials(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=8, max_length=256)


class LoginBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class User(Model):
    id: int
    email: str | None
    email_verified: bool
    role: Role
    wallets: list[str]
    created_at: str


class Tokens(Model):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    user: User


class RefreshBody(Model):
    refresh_token: str = Field(pattern=r"^[A-Za-z0-9_-]{20,128}$")


class SiweNonce(Model):
    nonce: str
    expires_in: int
    domain: str
    chain_id: int


class SiweVerifyBody(Model):
    message: str = Field(min_length=1, max_length=4096, description="the EIP-4361 message as signed")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class EmailBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)


class OtpBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    otp: str = Field(pattern=r"^[0-9]{6}$")


class ResetPasswordBody(Model):
    email: str = Field(pattern=EMAIL, max_length=254)
    otp: str = Field(pattern=r"^[0-9]{6}$")
    password: str = Field(min_length=8, max_length=256)


class RoleBody(Model):
    role: Role
