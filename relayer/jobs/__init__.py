"""Scheduled relayer work (the seeds' crons): each job is an async function of a ``JobContext``.

A job reads indexed/off-chain state and turns it into queued ``tx_requests`` (or state changes);
it never signs or sends. Jobs must be idempotent per run: the scheduler persists runs and may
re-run one after a crash, so enqueue with idempotency keys derived from the run (e.g. the epoch).
A job returns a short human summary of what it did (logged and stored with the run).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.settings import RelayerSettings
from relayer.store import RelayerStore


@dataclass(frozen=True)
class JobContext:
    pool: asyncpg.Pool
    rpc: RpcClient
    manifest: Manifest
    settings: RelayerSettings
    store: RelayerStore
    chain_id: int
    # The run's period, set by the scheduler: when it was due, and its index (due time // interval);
    # a triggered (not periodic) run has period None.
    due_at: datetime | None = None
    period: int | None = None


Job = Callable[[JobContext], Awaitable[str]]
