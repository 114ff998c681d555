"""Sign-in with OpenID Connect: request and response models (pydantic)."""

from __future__ import annotations

from pydantic import Field

from api.openapi import Model

TOKEN = r"^[A-Za-z0-9_-]{16,256}$"  # noqa: S105 (a pattern, not a secret)


class CallbackQuery(Model):
    state: str = Field(pattern=TOKEN, description="the state the authorization request carried")
    code: str | None = Field(None, min_length=1, max_length=2048)
    error: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class Redirect(Model):
    location: str = Field(description="where the browser is sent (also the Location header)")


class LinkBody(Model):
    """Empty for now (``{}`` or no body): the provider is in the path, the account is the caller's."""


class ExchangeBody(Model):
    code: str = Field(pattern=TOKEN, description="the one-time code the callback put in the return URL's fragment")


class Provider(Model):
    name: str
    issuer: str


class Providers(Model):
    providers: list[Provider]


class Identity(Model):
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    linked_at: str


class Identities(Model):
    identities: list[Identity]
