"""One validated, env-prefixed Settings object per process, composed from shared parts.

Shared values (``DATABASE_URL``, ``REDIS_URL``, ``RPC_URLS``, ``MANIFEST_PATH``, ``ENVIRONMENT``)
may be given once for all processes or per process with its prefix (``INDEXER_DATABASE_URL``...), in the
environment or in a ``.env`` file in the working directory. Precedence: prefixed environment, prefixed
``.env``, unprefixed environment, unprefixed ``.env``, defaults.
Settings are built in each ``__main__`` and passed down, never read at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT / "var" / "deployment.json"
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "dev-secret", "secret"})

# Outside development (ENVIRONMENT=production) the chain is a public one: an unset finality depth or
# confirmation count takes the Ethereum PoS value (Sepolia, mainnet: finality after 2 epochs = 64 blocks;
# 3 confirmations), and an explicit value below 2 (0 or 1: any one-block reorg loses or doubles data) is refused.
SAFE_FINALITY_DEPTH, SAFE_CONFIRMATIONS, MIN_PUBLIC_DEPTH = 64, 3, 2


def _safe_depths(settings: BaseSettings, defaults: dict[str, int]) -> None:
    """Fill unset depths with their public-chain default; refuse explicit ones below MIN_PUBLIC_DEPTH."""
    for name, default in defaults.items():
        if name not in settings.model_fields_set:
            setattr(settings, name, default)
        elif getattr(settings, name) < MIN_PUBLIC_DEPTH:
            prefix = settings.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}{name.upper()} must be at least {MIN_PUBLIC_DEPTH} outside development "
                f"(unset, it is {default})"
            )


SHARED_FIELDS = (
    "environment",
    "database_url",
    "redis_url",
    "rpc_urls",
    "rpc_batch_size",
    "manifest_path",
    "log_level",
)


class _SharedEnvSource(EnvSettingsSource):
    """Reads the shared fields from unprefixed variables (``DATABASE_URL``...).

    It ranks below the prefixed environment, so ``API_DATABASE_URL`` beats ``DATABASE_URL``.
    """

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        return {name: value for name, value in values.items() if name in SHARED_FIELDS}


class _SharedDotEnvSource(DotEnvSettingsSource):
    """The shared fields from unprefixed names in the ``.env`` file; below every other source but secrets."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        return {name: value for name, value in values.items() if name in SHARED_FIELDS}


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class _Common(BaseSettings):
    """Fields every process has. Subclasses set the prefix through ``model_config``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = _SharedEnvSource(settings_cls, env_prefix="")
        shared_dotenv = _SharedDotEnvSource(settings_cls, env_prefix="")
        return init_settings, env_settings, dotenv_settings, shared, shared_dotenv, file_secret_settings

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/creator"
    redis_url: str = "redis://127.0.0.1:6379/0"
    rpc_urls: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["http://127.0.0.1:8545"])
    # Calls per JSON-RPC batch; a batch a provider refuses is split and retried (README "Providers").
    rpc_batch_size: int = Field(1000, ge=1)
    manifest_path: Path = DEFAULT_MANIFEST
    log_level: str = "INFO"

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _rpc_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("rpc_urls")
    @classmethod
    def _rpc_nonempty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one RPC URL is required")
        return value

    @property
    def is_development(self) -> bool:
        return self.environment != "production"


class IndexerSettings(_Common):
    model_config = SettingsConfigDict(env_prefix="INDEXER_", env_file=".env", extra="ignore")

    poll_interval: float = Field(0.5, gt=0)
    max_block_range: int = Field(2000, ge=1)
    finality_depth: int = Field(0, ge=0)
    metrics_port: int = Field(9101, ge=0, le=65535)
    # "auto": the first RPC URL with ws(s)://; "none": poll only; or an explicit ws:// URL.
    ws_url: str = "auto"
    # Backfill fetches and decodes in a second process (uses the second core).
    fetch_worker: bool = True
    # Further contracts to index by configuration (TOML or JSON; README "Indexer"); none when unset.
    contracts_path: Path | None = None

    @field_validator("contracts_path", mode="before")
    @classmethod
    def _no_contracts(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _public_chain_depth(self) -> IndexerSettings:
        if not self.is_development:
            _safe_depths(self, {"finality_depth": SAFE_FINALITY_DEPTH})
        return self


class RelayerSettings(_Common):
    model_config = SettingsConfigDict(env_prefix="RELAYER_", env_file=".env", extra="ignore")

    private_key: SecretStr = SecretStr("")
    keystore_path: Path | None = None
    keystore_password: SecretStr = SecretStr("")
    poll_interval: float = Field(0.5, gt=0)
    confirmations: int = Field(1, ge=1)
    max_attempts: int = Field(5, ge=1)
    metrics_port: int = Field(9102, ge=0, le=65535)
    stuck_blocks: int = Field(3, ge=1)
    stuck_seconds: float = Field(60.0, gt=0)
    max_fee_gwei: float = Field(500.0, gt=0)
    # A finished request's tx is watched until this deep: a reorg that drops it (confirmed but not
    # final) puts the request back in flight, to be rebroadcast or re-signed.
    finality_blocks: int = Field(64, ge=1)
    # Tips (relayer/jobs/intents.py): the approval policy's per-user caps over the last 24 h
    # (intents approved, and base units per kind; 0 = no amount cap), and the settle batch size.
    tips_daily_max_intents: int = Field(200, ge=1)
    tips_daily_max_clap_amount: int = Field(0, ge=0)
    tips_daily_max_gift_amount: int = Field(0, ge=0)
    tips_approve_batch: int = Field(200, ge=1, le=1000)
    tips_settle_batch: int = Field(100, ge=1, le=256)  # at most TipRouter.MAX_BATCH
    # Schedules (relayer/schedules.py): seconds between runs per job, overriding the registry's defaults,
    # as JSON, e.g. RELAYER_SCHEDULE_INTERVALS='{"accrue": 2, "end_auctions": 1}'; 0 disables a job.
    schedule_intervals: dict[str, float] = Field(default_factory=dict)
    # The daily TKI accrual: this many wei of TKI per account with a linked wallet, per period.
    accrue_amount: int = Field(10 * 10**18, ge=0)
    # Requests signed per claim, and how many in-flight requests one confirmation pass checks.
    send_batch: int = Field(50, ge=1, le=500)
    confirm_batch: int = Field(500, ge=1, le=5000)

    @field_validator("keystore_path", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _key_source(self) -> RelayerSettings:
        # A missing key is refused where the signer is loaded (`run`); queue commands need none.
        if self.private_key.get_secret_value() and not self.is_development:
            raise ValueError("RELAYER_PRIVATE_KEY is for development only; use an encrypted keystore")
        return self

    @model_validator(mode="after")
    def _public_chain_depth(self) -> RelayerSettings:
        if not self.is_development:
            _safe_depths(self, {"confirmations": SAFE_CONFIRMATIONS, "finality_blocks": SAFE_FINALITY_DEPTH})
        return self


class ApiSettings(_Common):
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
        return _split_csv(value)

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> ApiSettings:
        if not self.is_development and self.jwt_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("API_JWT_SECRET must be set to a real secret outside development")
        return self

    @property
    def jitsi_configured(self) -> bool:
        """Outside development a placeholder Jitsi secret issues no room token (meetings answer 503)."""
        return self.is_development or self.jitsi_app_secret.get_secret_value().lower() not in PLACEHOLDER_SECRETS
