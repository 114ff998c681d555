"""The API's settings (``API_`` prefix): the shared parts from ``core.settings`` plus its own — tokens, SIWE,
mail, rate limits, reads, meetings (Jitsi), cleanup, payments (Stripe) and credits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from core.settings import PLACEHOLDER_SECRETS, ROOT, SharedSettings, split_csv


class OidcProvider(BaseModel):
    """One OpenID Connect provider (README "Sign-in with OpenID Connect"): found by issuer discovery."""

    issuer: str = Field(pattern=r"^https?://[^\s]+$")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = SecretStr("")
    scopes: str = "openid email profile"


class ApiSettings(SharedSettings):
    model_config = SettingsConfigDict(env_prefix="API_", env_file=".env", extra="ignore", populate_by_name=True)

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
    # Per user: generation jobs started; sensitive account changes (password change, account linking, payout
    # details: with a fresh password check).
    rate_generation: str = "5/3600"
    rate_sensitive: str = "3/900"
    max_body_bytes: int = Field(65536, ge=1024)
    # Read replicas (README "Read replicas"): a hot standby streaming from the primary (DATABASE_URL) answers
    # the pure reads; unset, every read goes to the primary. A read that needs more than the standby has
    # replayed (the client's own write, a min_block) waits READ_REPLICA_WAIT s for it, then goes to the
    # primary; a standby that fails is skipped for READ_REPLICA_RETRY s.
    database_read_url: str = ""  # a shared name too (core.settings.SHARED_FIELDS): DATABASE_READ_URL
    read_replica_wait: float = Field(0.2, ge=0, le=5)
    read_replica_retry: float = Field(5.0, gt=0, le=300)
    # How long one of the indexed reads may run (its statement_timeout, on the primary or the standby) before the
    # server cancels it and the API answers 503 read_timeout with Retry-After; 0: no limit of the API's own.
    read_timeout_ms: int = Field(5000, ge=0, le=600_000)
    # How long a read with ?min_block= waits for the indexer before answering 503.
    min_block_timeout: float = Field(5.0, gt=0, le=30)
    cache_ttl: int = Field(30, ge=1)
    feed_maxlen: int = Field(100_000, ge=100)
    # On-stream gifts (README "Streaming"): decided at once by the tip policy with the relayer's daily caps
    # (the same RELAYER_TIPS_DAILY_* variables, unless API_TIPS_DAILY_* is set); retractions swept this often.
    tips_daily_max_intents: int = Field(
        200,
        ge=1,
        validation_alias=AliasChoices("API_TIPS_DAILY_MAX_INTENTS", "RELAYER_TIPS_DAILY_MAX_INTENTS"),
    )
    tips_daily_max_clap_amount: int = Field(
        0,
        ge=0,
        validation_alias=AliasChoices("API_TIPS_DAILY_MAX_CLAP_AMOUNT", "RELAYER_TIPS_DAILY_MAX_CLAP_AMOUNT"),
    )
    tips_daily_max_gift_amount: int = Field(
        0,
        ge=0,
        validation_alias=AliasChoices("API_TIPS_DAILY_MAX_GIFT_AMOUNT", "RELAYER_TIPS_DAILY_MAX_GIFT_AMOUNT"),
    )
    gift_lock_wait_ms: int = Field(5000, ge=10, le=60_000)
    gift_sweep_interval: float = Field(2.0, gt=0)
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
    # Subscriptions (README "Subscriptions"): where a subscription-mode Checkout returns the buyer.
    subscription_success_url: str = "http://localhost:5173/subscription/success?session_id={CHECKOUT_SESSION_ID}"
    subscription_cancel_url: str = "http://localhost:5173/subscription/cancelled"
    # A credits reservation not committed or released within this many seconds is released.
    credit_hold_ttl: int = Field(3600, ge=10, le=7 * 86400)
    # Streaming (README "Streaming"): the LiveKit server (Twirp API), its API key and secret (which also
    # sign its webhooks), the ws(s) URL given to clients (default: the same), token and empty-room lifetimes.
    livekit_url: str = ""
    livekit_public_url: str = ""
    livekit_api_key: str = ""
    livekit_api_secret: SecretStr = SecretStr("")
    livekit_token_ttl: int = Field(6 * 3600, ge=60, le=86400)
    livekit_empty_timeout: int = Field(600, ge=10, le=86400)
    livekit_timeout: float = Field(10.0, gt=0, le=60)
    # Media (README "Media"): an S3-compatible bucket (S3, R2, MinIO; moto's server in tests). An empty
    # endpoint is AWS's own; an empty public base serves reads by presigned GET URLs.
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_bucket: str = Field("creator-media", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_access_key_id: str = "dev-access-key"
    s3_secret_access_key: SecretStr = SecretStr("dev-secret")
    s3_addressing_style: str = Field("path", pattern="^(path|virtual|auto)$")
    s3_public_base_url: str = ""
    media_upload_ttl: int = Field(600, ge=30, le=86400)
    media_read_ttl: int = Field(3600, ge=60, le=7 * 86400)
    media_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    media_max_pixels: int = Field(40_000_000, ge=10_000, le=200_000_000)
    media_cleanup_interval: float = Field(300, gt=0)
    # Sign-in with OpenID Connect: Google when GOOGLE_CLIENT_ID is set, any other provider by OIDC_PROVIDERS
    # (JSON: {"name": {"issuer", "client_id", "client_secret"}}); callbacks on OIDC_REDIRECT_BASE (this API's
    # public origin); the browser lands on OIDC_RETURN_URL#code=<one-time code> and trades it by POST.
    google_client_id: str = ""
    google_client_secret: SecretStr = SecretStr("")
    google_issuer: str = "https://accounts.google.com"
    oidc_providers: dict[str, OidcProvider] = Field(default_factory=dict)
    oidc_redirect_base: str = "http://localhost:8000"
    oidc_return_url: str = "http://localhost:5173/auth/callback"
    oidc_login_ttl: int = Field(600, ge=30, le=3600)
    oidc_timeout: float = Field(10.0, gt=0, le=60)
    signin_code_ttl: int = Field(60, ge=10, le=600)
    # README "Metrics and alerts": /metrics wants "Authorization: Bearer <this>" when set; outside
    # development it must be set (else /metrics answers 403).
    metrics_token: SecretStr = SecretStr("")
    # README "Creator verification" / "Payout details": whether approving a creator needs an approved
    # identity verification; how long an admin's presigned read of a document lives (seconds); the key
    # payout details are encrypted under (AES-256-GCM, the key is SHA-256 of this secret).
    creator_requires_verification: bool = False
    verification_read_ttl: int = Field(60, ge=1, le=900)
    payout_key: SecretStr = SecretStr("dev-secret")
    # README "Manual intent review": its verdicts use the daily caps above (tips_daily_*, the relayer's by default).
    # Response compression: gzip JSON bodies of at least this many bytes when the client accepts it.
    compress_min_bytes: int = Field(1024, ge=0)

    # Generation (README "Generation"): a KIE-style provider's HTTP API (the fake in tests), the public origin
    # its callbacks reach (API_PUBLIC_BASE_URL), the secret their per-job tokens are derived from, the
    # deadline after which a job fails and its credits go back, and the worker's polling and recovery pace.
    kie_api_base: str = "https://api.kie.ai"
    kie_api_key: SecretStr = SecretStr("")
    kie_model: str = "veo3_fast"
    kie_timeout: float = Field(30.0, gt=0, le=300)
    public_base_url: str = "http://localhost:8000"
    generation_callback_secret: SecretStr = SecretStr("dev-secret")
    generation_timeout: int = Field(1800, ge=5, le=86400)
    generation_poll_interval: float = Field(30.0, gt=0, le=3600)
    generation_max_bytes: int = Field(500 * 1024 * 1024, ge=1024)
    generation_sweep_interval: float = Field(30.0, gt=0, le=3600)
    generation_stalled_after: float = Field(60.0, ge=1, le=3600)
    generation_heartbeat: float = Field(10.0, gt=0, le=600)
    generation_concurrency: int = Field(10, ge=1, le=200)

    @field_validator("rate_general", "rate_auth", "rate_purchase", "rate_generation", "rate_sensitive")
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

    @model_validator(mode="after")
    def _no_placeholder_oidc_secret(self) -> ApiSettings:
        for name, provider in self.sign_in_providers().items():
            if not self.is_development and provider.client_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"the OpenID Connect provider {name!r} needs a real client secret outside development")
        return self

    def sign_in_providers(self) -> dict[str, OidcProvider]:
        """The configured OpenID Connect providers by name, Google's preset first."""
        google = {}
        if self.google_client_id:
            google["google"] = OidcProvider(
                issuer=self.google_issuer, client_id=self.google_client_id, client_secret=self.google_client_secret
            )
        return {**google, **self.oidc_providers}

    @property
    def jitsi_configured(self) -> bool:
        """Outside development a placeholder Jitsi secret issues no room token (meetings answer 503)."""
        return self.is_development or self.jitsi_app_secret.get_secret_value().lower() not in PLACEHOLDER_SECRETS

    @property
    def livekit_configured(self) -> bool:
        """Streaming needs the URL, key and secret; outside development a placeholder secret does not count."""
        secret = self.livekit_api_secret.get_secret_value()
        real = self.is_development or secret.lower() not in PLACEHOLDER_SECRETS
        return bool(self.livekit_url and self.livekit_api_key and secret) and real

    @property
    def media_configured(self) -> bool:
        """Outside development a placeholder S3 secret stores nothing (media routes answer 503)."""
        return self.is_development or self.s3_secret_access_key.get_secret_value().lower() not in PLACEHOLDER_SECRETS

    @property
    def generation_configured(self) -> bool:
        """A provider key, and outside development a real callback secret (else generation answers 503)."""
        secret = self.generation_callback_secret.get_secret_value().lower()
        real = self.is_development or secret not in PLACEHOLDER_SECRETS
        return bool(self.kie_api_key.get_secret_value()) and real

    @property
    def payouts_configured(self) -> bool:
        """Outside development a placeholder API_PAYOUT_KEY encrypts nothing (payout routes answer 503)."""
        return self.is_development or self.payout_key.get_secret_value().lower() not in PLACEHOLDER_SECRETS
