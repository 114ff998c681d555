"""The indexer's settings (INDEXER_*), on core's shared part (README "Configuration")."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from core.db.migrate import INDEXER_ALONE
from core.settings import SAFE_FINALITY_DEPTH, SharedSettings, safe_depths
from indexer.indexes import DEFER_MIN_ROWS


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
    # A backfill projected to add at least this many rows to a configured table (or token_transfers)
    # builds that table's read-only indexes when it ends instead of row by row (indexer/indexes.py); 0: never.
    defer_indexes_rows: int = Field(DEFER_MIN_ROWS, ge=0)
    # Further contracts to index by configuration (TOML or JSON; README "Indexer"); none when unset.
    contracts_path: Path | None = None
    # "standalone": the indexer on its own (README "Indexing any contract"): the configured contracts
    # only, no deployment manifest (chain id and genesis read from the node), and only the indexer's
    # migrations (no application table in its database).
    mode: Literal["full", "standalone"] = "full"

    @property
    def standalone(self) -> bool:
        return self.mode == "standalone"

    @property
    def migration_owners(self) -> frozenset[str] | None:
        """Whose migration statements this indexer applies: all (None), or the indexer's and core's alone."""
        return INDEXER_ALONE if self.standalone else None

    @field_validator("contracts_path", mode="before")
    @classmethod
    def _no_contracts(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _public_chain_depth(self) -> IndexerSettings:
        if not self.is_development:
            safe_depths(self, {"finality_depth": SAFE_FINALITY_DEPTH})
        return self
