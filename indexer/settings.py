"""The indexer's settings (INDEXER_*), on core's shared part (README "Configuration")."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from core.settings import SAFE_FINALITY_DEPTH, SharedSettings, safe_depths


class IndexerSettings(SharedSettings):
    model_config = SettingsConfigDict(env_prefix="INDEXER_", env_file=".env", extra="ignore")

    poll_interval: float = Field(0.5, gt=0)
    max_block_range: int = Field(2000, ge=1)
    finality_depth: int = Field(0, ge=0)
    metrics_port: int = Field(9101, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 to be scraped from another host or container
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
            safe_depths(self, {"finality_depth": SAFE_FINALITY_DEPTH})
        return self
