"""The shared part of every process's Settings (each process owns its own: indexer/settings.py,
relayer/settings.py, api/settings.py).

Shared values (``DATABASE_URL``, ``REDIS_URL``, ``RPC_URLS``, ``MANIFEST_PATH``, ``ENVIRONMENT``)
may be given once for all processes or per process with its prefix (``INDEXER_DATABASE_URL``...), in the
environment or in a ``.env`` file in the working directory. Precedence: prefixed environment, prefixed
``.env``, unprefixed environment, unprefixed ``.env``, defaults.
Settings are built in each ``__main__`` and passed down, never read at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
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


def safe_depths(settings: BaseSettings, defaults: dict[str, int]) -> None:
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
    "database_read_url",  # the API's only (README "Read replicas")
    "redis_url",
    "rpc_urls",
    "rpc_batch_size",
    "manifest_path",
    "log_level",
    "log_format",
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
    # README "Logs": "auto" is readable lines in development, JSON lines outside it.
    log_format: Literal["auto", "json", "console"] = "auto"

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

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format == "auto" and not self.is_development)
