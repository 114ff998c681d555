"""The API's settings (``API_`` prefix): the shared parts from ``core.settings`` plus its own — tokens, SIWE,
mail, rate limits, reads, meetings (Jitsi), cleanup, payments (Stripe) and credits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from core.settings import PLACEHOLDER_SECRETS, ROOT, SharedSettings, split_csv


class ApiSettings(SharedSettings):
    model_config = SettingsConfigDict(env_prefix="API_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    jwt_secret: SecretStr = SecretStr("dev-secret")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Tokens: short-lived JWT access tokens, rotating opaque refresh tokens (stored hashed).
    access_token_ttl: int = Field(900, ge=30)
    refresh_token_ttl: int = Field(30 * 86400, ge=60)
    # Sign-In With Ethereum: the domain (host[:port]) messages must name; nonce lifetime;
    # the oldest Issued At accepted when a message has no Expiration Time.
    siwe_domain: str = "localhost:8000"
    siwe_nonce_ttl: int = Field(300, ge=10)
    siwe_max_age: int = Field(600, ge=10)
    # Email OTPs and the mail they travel by: SMTP when SMTP_HOST is set, else .eml files in OUTBOX_DIR.
    otp_ttl: int = Field(600, ge=30)
    otp_max_attempts: int = Field(5, ge=1)
    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    mail_from: str = "no-reply@localhost"
    outbox_dir: Path = ROOT / "var" / "outbox"
    # Rate limits, "<requests>/<seconds>" ("0" disables a tier): per IP, auth attempts per IP, purchases per user.
    rate_general: str = "100/60"
    rate_auth: str = "10/3600"
    rate_purchase: str = "10/86400"
    max_body_bytes: int = Field(65536, ge=1024)
    # How long a read with ?min_block= waits for the indexer before answering 503.
    min_block_timeout: float = Field(5.0, gt=0, le=30)
    cache_ttl: int = Field(30, ge=1)
    feed_maxlen: int = Field(100_000, ge=100)
    # Meetings (README "Meetings"): Jitsi JWTs (HS256) for the room of a won auction.
    jitsi_domain: str = "meet.jit.si"
    jitsi_app_id: str = "creator-meetings"
    jitsi_app_secret: SecretStr = SecretStr("dev-secret")
    jitsi_audience: str = "jitsi"
    jitsi_token_ttl: int = Field(3600, ge=60, le=86400)
    # A meeting ends this long after its auction ended, unless the seller extends it (at most max_ahead from now).
    meeting_duration: int = Field(7 * 86400, ge=60)
    meeting_max_ahead: int = Field(90 * 86400, ge=3600)
    # How far ahead a redemption's deadline may be, and how much time it must leave the relayer.
    redemption_max_deadline: int = Field(86400, ge=300)
    redemption_min_deadline: int = Field(60, ge=0)
    # Expired refresh tokens and OTPs are deleted every CLEANUP_INTERVAL s, CLEANUP_GRACE s after they expire.
    cleanup_interval: float = Field(3600, gt=0)
    cleanup_grace: int = Field(86400, ge=0)
    # Payments (Stripe Checkout): the API base is configurable so tests drive the real library
    # against a local fake; the webhook accepts signatures at most STRIPE_WEBHOOK_TOLERANCE s old.
    stripe_api_base: str = "https://api.stripe.com"
    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_webhook_tolerance: int = Field(300, ge=1, le=3600)
    stripe_timeout: float = Field(10.0, gt=0, le=60)
    checkout_success_url: str = "http://localhost:5173/payment/success?session_id={CHECKOUT_SESSION_ID}"
    checkout_cancel_url: str = "http://localhost:5173/payment/cancelled"
    # A credits reservation not committed or released within this many seconds is released.
    credit_hold_ttl: int = Field(3600, ge=10, le=7 * 86400)

    @field_validator("rate_general", "rate_auth", "rate_purchase")
    @classmethod
    def _rate(cls, value: str) -> str:
        limit, _, window = value.partition("/")
        if value.strip() == "0" or (limit.isdigit() and window.isdigit() and int(window) > 0):
            return value.strip()
        raise ValueError("a rate is '<requests>/<seconds>' or '0'")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors_csv(cls, value: object) -> object:
        return split_csv(value)

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> ApiSettings:
        if not self.is_development and self.jwt_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("API_JWT_SECRET must be set to a real secret outside development")
        return self

    @property
    def jitsi_configured(self) -> bool:
        """Outside development a placeholder Jitsi secret issues no room token (meetings answer 503)."""
        return self.is_development or self.jitsi_app_secret.get_secret_value().lower() not in PLACEHOLDER_SECRETS
