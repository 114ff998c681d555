"""The typed application context, filled in ``before_server_start``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis

from api.accounts.service import Accounts
from api.auth.service import AuthService
from api.cache import ResponseCache
from api.creators.service import Creators
from api.credits.service import Ledger
from api.live.feed import FeedHub, FeedProducer
from api.live.state import IndexedState
from api.mail import Mailer
from api.meetings.notifications import Notifications
from api.meetings.service import Meetings
from api.payments.discounts import Discounts
from api.payments.gateway import StripeGateway
from api.payments.service import Payments
from api.protect.ratelimit import RateLimiter
from api.store import Store
from api.tips.service import Tips
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.settings import ApiSettings


@dataclass
class Context:
    settings: ApiSettings
    mailer: Mailer | None = None
    manifest: Manifest | None = None
    pool: asyncpg.Pool | None = None
    redis: Redis | None = None
    rpc: RpcClient | None = None
    store: Store | None = field(default=None)
    accounts: Accounts | None = None
    auth: AuthService | None = None
    limiter: RateLimiter | None = None
    cache: ResponseCache | None = None
    state: IndexedState = field(default_factory=IndexedState)
    hub: FeedHub | None = None
    producer: FeedProducer | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # ERC-20 address -> contract name
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    tips: Tips | None = None
    creators: Creators | None = None
    meetings: Meetings | None = None
    notifications: Notifications | None = None
    gateway: StripeGateway | None = None
    ledger: Ledger | None = None
    discounts: Discounts | None = None
    payments: Payments | None = None
