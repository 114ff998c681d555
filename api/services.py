"""The API's services: one frozen object built when the server starts, read by every handler.

``open_services`` opens the pool, Redis and the RPC client and builds every domain's service on
them; each resource's closer goes on the ``AsyncExitStack`` as it opens, so a start that fails half
way closes what it opened. Handlers read it with ``services(request)``.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis
from sanic import Request

from api.accounts.service import Accounts
from api.auth.service import AuthService
from api.cache import ResponseCache
from api.content.service import Content
from api.creators.service import Creators
from api.credits.service import CreditLedger
from api.generation.kie import Kie
from api.generation.service import Generation
from api.live.feed import FeedHub, FeedProducer
from api.live.state import IndexedState
from api.mail import Mailer
from api.media.service import Media
from api.media.storage import ObjectStorage
from api.meetings.notifications import Notifications
from api.meetings.service import QUERIES as MEETING_QUERIES
from api.meetings.service import Meetings
from api.payments.discounts import Discounts
from api.payments.gateway import StripeGateway
from api.payments.service import Payments, claim_on_link
from api.profiles.service import Profiles
from api.protect.ratelimit import RateLimiter
from api.redis_client import redis_client
from api.settings import ApiSettings
from api.signin.service import SignIn, clients_from
from api.store import ApiStore
from api.stream.discovery import Discovery
from api.stream.gifts import Gifts
from api.stream.lifecycle import Lifecycle
from api.stream.livekit import LiveKit
from api.stream.service import Streams
from api.subscriptions.service import Subscriptions
from api.tips.service import IntentReview, Tips
from api.verify.service import Payouts, Verifications
from core.chain.manifest import Manifest, load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.outage import when_available
from core.db.replica import ReadRouter, open_router


@dataclass(frozen=True)
class Services:
    settings: ApiSettings
    mailer: Mailer
    manifest: Manifest
    pool: asyncpg.Pool
    reads: ReadRouter  # the pure reads: the read replica when configured (README "Read replicas")
    redis: Redis
    rpc: RpcClient
    store: ApiStore
    accounts: Accounts
    auth: AuthService
    limiter: RateLimiter
    cache: ResponseCache
    hub: FeedHub
    producer: FeedProducer
    tips: Tips
    creators: Creators
    meetings: Meetings
    notifications: Notifications
    gateway: StripeGateway
    ledger: CreditLedger
    discounts: Discounts
    payments: Payments
    subscriptions: Subscriptions
    signin: SignIn
    tokens: dict[str, str]  # ERC-20 address -> contract name
    livekit: LiveKit
    streams: Streams
    lifecycle: Lifecycle
    discovery: Discovery
    gifts: Gifts
    media: Media
    profiles: Profiles
    content: Content
    verifications: Verifications
    review: IntentReview
    payouts: Payouts
    generation: Generation
    state: IndexedState = field(default_factory=IndexedState)


async def open_services(settings: ApiSettings, mailer: Mailer, stack: AsyncExitStack) -> Services:
    manifest = load_manifest(settings.manifest_path)
    chain_id = manifest.chain_id
    tokens = {c.address: name for name, c in manifest.erc20_tokens().items()}
    pool = await when_available(
        lambda: create_pool(settings.database_url, max_size=10, session_reset=False), "the pool"
    )
    stack.push_async_callback(pool.close)
    reads = await open_router(
        pool,
        settings.database_read_url,
        wait=settings.read_replica_wait,
        retry=settings.read_replica_retry,
        timeout_ms=settings.read_timeout_ms,
    )
    if reads.replica is not None:
        stack.push_async_callback(reads.replica.close)
    redis = redis_client(settings.redis_url)
    stack.push_async_callback(redis.aclose)
    rpc = RpcClient(settings.rpc_urls, retries=1, timeout=5.0)
    stack.push_async_callback(rpc.close)
    gateway = StripeGateway(settings)
    stack.push_async_callback(gateway.close)
    store = ApiStore(pool, chain_id, reads)
    accounts = Accounts(pool, on_link=claim_on_link)
    notifications = Notifications(pool, redis, MEETING_QUERIES, chain_id, settings.feed_maxlen)
    ledger = CreditLedger(pool, settings.credit_hold_ttl)
    discounts = Discounts(pool)
    livekit = LiveKit(settings)
    stack.push_async_callback(livekit.close)
    auth = AuthService(settings, accounts, redis, mailer, chain_id)
    media = Media(pool, await ObjectStorage.open(settings, stack), settings)
    signin = SignIn(pool, auth, clients_from(settings), settings)
    tips = Tips(pool, store, rpc, manifest)
    subscriptions = Subscriptions(pool, gateway=gateway, ledger=ledger, settings=settings)
    stack.push_async_callback(signin.close)
    return Services(
        settings=settings,
        mailer=mailer,
        manifest=manifest,
        pool=pool,
        reads=reads,
        redis=redis,
        rpc=rpc,
        store=store,
        accounts=accounts,
        auth=auth,
        limiter=RateLimiter(redis, settings),
        cache=ResponseCache(redis, settings.cache_ttl),
        hub=FeedHub(redis, chain_id),
        producer=FeedProducer(redis, store, tokens, settings.feed_maxlen),
        tips=tips,
        creators=Creators(pool, store, tokens, requires_verification=settings.creator_requires_verification),
        meetings=Meetings(
            pool,
            notifications,
            settings,
            chain_id=chain_id,
            rpc=rpc,
            pass_address=manifest.address_of("MeetingPass") or "",  # none deployed: meetings answer 503
        ),
        notifications=notifications,
        gateway=gateway,
        ledger=ledger,
        discounts=discounts,
        payments=Payments(
            pool,
            gateway=gateway,
            ledger=ledger,
            discounts=discounts,
            accounts=accounts,
            settings=settings,
            hooks=[subscriptions.events],
        ),
        subscriptions=subscriptions,
        signin=signin,
        tokens=tokens,
        livekit=livekit,
        streams=Streams(pool, livekit),
        lifecycle=Lifecycle(pool),
        discovery=Discovery(reads),
        gifts=Gifts(pool, tips, rpc, redis, settings),
        media=media,
        profiles=Profiles(pool, accounts, auth, media, reads),
        content=Content(pool, media, reads),
        verifications=Verifications(pool, media, settings),
        payouts=Payouts(pool, settings),
        review=IntentReview(pool, rpc, manifest, settings),
        generation=Generation(pool, ledger, media, settings),
    )


async def open_generation(settings: ApiSettings, stack: AsyncExitStack) -> Generation:
    """What a generation worker (``python -m api.generation.worker``) needs: pool, ledger, storage, provider."""
    pool = await when_available(lambda: create_pool(settings.database_url, max_size=10), "the pool")
    stack.push_async_callback(pool.close)
    kie = Kie(settings)
    stack.push_async_callback(kie.close)
    media = Media(pool, await ObjectStorage.open(settings, stack), settings)
    return Generation(pool, CreditLedger(pool, settings.credit_hold_ttl), media, settings, kie)


def services(request: Request) -> Services:
    """The running app's services (built in ``before_server_start``)."""
    built: Services = request.app.ctx.services
    return built
