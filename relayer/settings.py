"""The relayer's settings (RELAYER_*), on core's shared part (README "Configuration")."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from core.settings import SAFE_CONFIRMATIONS, SAFE_FINALITY_DEPTH, SharedSettings, safe_depths


class RelayerSettings(SharedSettings):
    model_config = SettingsConfigDict(env_prefix="RELAYER_", env_file=".env", extra="ignore")

    private_key: SecretStr = SecretStr("")
    keystore_path: Path | None = None
    keystore_password: SecretStr = SecretStr("")
    # The signer pool (README "Relayer"): more keys beside the default one above, each with its own nonce
    # lane, as JSON lists: keystores (all opened with RELAYER_KEYSTORE_PASSWORD) or, in development only,
    # raw keys. Every key must hold the relayer's roles (``anvil.deploy --relayer`` once per key).
    pool_keystore_paths: list[Path] = Field(default_factory=list)
    pool_private_keys: list[SecretStr] = Field(default_factory=list)
    # At most this many sent, unconfirmed transactions per key: a key at its cap (e.g. stuck behind an
    # underpriced transaction) gets no new requests; the others take them.
    max_pending_per_key: int = Field(1000, ge=1)
    poll_interval: float = Field(0.5, gt=0)
    confirmations: int = Field(1, ge=1)
    max_attempts: int = Field(5, ge=1)
    metrics_port: int = Field(9102, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
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
        if self.pool_private_keys and not self.is_development:
            raise ValueError("RELAYER_POOL_PRIVATE_KEYS is for development only; use RELAYER_POOL_KEYSTORE_PATHS")
        return self

    @model_validator(mode="after")
    def _public_chain_depth(self) -> RelayerSettings:
        if not self.is_development:
            safe_depths(self, {"confirmations": SAFE_CONFIRMATIONS, "finality_blocks": SAFE_FINALITY_DEPTH})
        return self
