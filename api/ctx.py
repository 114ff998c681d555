"""The typed application context, filled in ``before_server_start``."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis

from api.store import Store
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.settings import ApiSettings


@dataclass
class Context:
    settings: ApiSettings
    manifest: Manifest | None = None
    pool: asyncpg.Pool | None = None
    redis: Redis | None = None
    rpc: RpcClient | None = None
    store: Store | None = field(default=None)
