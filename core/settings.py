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


def split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class SharedSettings(BaseSettings):
    """Fields every process has. Subclasses set the prefix through ``model_config`` (the API's: ``api/settings.py``)."""

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
        return split_csv(value)

    @field_validator("rpc_urls")
    @classmethod
    def _rpc_nonempty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one RPC URL is required")
        return value

    @property
    def is_development(self) -> bool:
        return self.environment != "production"


class IndexerSettings(SharedSettings):
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


class RelayerSettings(SharedSettings):
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
