"""Schedules against real Postgres and anvil: one leader, no skipped or doubled period, the jobs' effects."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import asyncpg
import pytest
from eth_account import Account

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from relayer.jobs import JobContext
from relayer.jobs.accrue import accrue, epoch_of
from relayer.scheduler import Scheduler
from relayer.schedules import Schedule
from relayer.settings import RelayerSettings
from relayer.store import RelayerStore
from tests.integration.helpers import PAST_AUCTION_END_S, balance_of, make_indexer, make_relayer, relay_all, send, sync
from tests.integration.test_auction_projection import ALICE, SELLER

ACCRUE = Schedule("accrue", "relayer.jobs.accrue:accrue", 3600, catch_up=True)
END_AUCTIONS = Schedule("end_auctions", "relayer.jobs.auctions:end_auctions", 60)
HANG = asyncio.Event()


async def accrue_then_hang(ctx: JobContext) -> str:
    """The accrue job killed after it enqueued, before its run is recorded (the task is cancelled)."""
    await accrue(ctx)
    await HANG.wait()
    return "never"


def _ctx(pool: asyncpg.Pool, client: RpcClient, manifest: Manifest, **settings: Any) -> JobContext:
    relayer_settings = RelayerSettings(environment="test", **settings)
    return JobContext(pool, client, manifest, relayer_settings, RelayerStore(pool), manifest.chain_id)


async def _wallets(pool: asyncpg.Pool, users: int) -> list[str]:
    """`users` accounts with a wallet linked an hour ago; the first also has a second, later wallet."""
    first = []
    for i in range(users):
        user_id = await pool.fetchval("INSERT INTO users (email) VALUES ($1) RETURNING id", f"u{i}@example.com")
        address = Account.create().address.lower()
        await pool.execute(
            "INSERT INTO user_wallets (address, user_id, linked_at) VALUES ($1, $2, now() - interval '1 hour')",
            address,
            user_id,
        )
        first.append(address)
    await pool.execute(
        "INSERT INTO user_wallets (address, user_id, linked_at) VALUES ($1, 1, now() - interval '30 minutes')",
        Account.create().address.lower(),
    )
    return first


async def _requests(pool: asyncpg.Pool, kind: str) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM tx_requests WHERE kind = $1 ORDER BY id", kind))


async def test_accrue_enqueues_once_per_epoch_and_catches_up_missed_periods(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, relayer_key: str
) -> None:
    wallets = await _wallets(pool, 3)
    async with RpcClient([chain]) as client:
        ctx = _ctx(pool, client, manifest, accrue_amount=7, schedule_intervals={"accrue": 1})
        scheduler = Scheduler(ctx, db_url, schedules=(ACCRUE,))
        now = float(int(time.time()))
        assert await scheduler.tick(now + 0.2) == 1  # first run: the current period
        assert await scheduler.tick(now + 0.9) == 0  # same period: nothing
        period = int(now)
        run = await pool.fetchrow("SELECT * FROM schedule_runs")
        await scheduler._execute(scheduler.schedules["accrue"], run["id"], run["due_at"], period)  # a re-run
        assert len(await _requests(pool, "accrue")) == 1
        assert await scheduler.tick(now + 3.5) == 3  # the relayer was away for three periods: each one runs
        runs = await pool.fetch("SELECT period_key, status, summary FROM schedule_runs ORDER BY due_at")
        assert [r["status"] for r in runs] == ["succeeded"] * 4
        requests = await _requests(pool, "accrue")
        assert [int(r["payload"]["epoch"]) for r in requests] == [epoch_of(period + i, 0) for i in range(4)]
        assert all(r["payload"]["accounts"] == sorted(wallets) for r in requests)  # one wallet per account
        assert all(r["payload"]["amounts"] == ["7"] * 3 for r in requests)

        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
    assert [r["status"] for r in await _requests(pool, "accrue")] == ["confirmed"] * 4
    engagement = manifest.contract("Engagement").address
    assert [balance_of(chain, engagement, w) for w in wallets] == [28, 28, 28]


async def test_end_auctions_enqueues_once_per_expired_auction_and_it_is_ended_on_chain(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, relayer_key: str
) -> None:
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 300, "expires"])
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 7200, "still open"])
    send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1500)
    rpc(chain, "evm_increaseTime", [PAST_AUCTION_END_S])
    rpc(chain, "evm_mine")
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        scheduler = Scheduler(_ctx(pool, client, manifest), db_url, schedules=(END_AUCTIONS,))
        now = time.time()
        assert await scheduler.tick(now) == 1
        assert await scheduler.tick(now + 60) == 1  # the next minute: still active in the index, not queued again
        requests = await _requests(pool, "end_auction")
        assert [r["payload"] for r in requests] == [{"auction_id": "1"}]

        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
        assert (await store.get(requests[0]["id"]))["status"] == "confirmed"
        await sync(indexer)
        rows = {r["auction_id"]: r for r in await pool.fetch("SELECT * FROM auctions")}
        assert rows[1]["status"] == "ended"
        assert rows[1]["winner"] == ALICE.lower()
        assert rows[2]["status"] == "active"
        owner = await pool.fetchval("SELECT owner FROM meeting_passes WHERE auction_id = 1")
        assert owner == ALICE.lower()
        assert await scheduler.tick(now + 120) == 1
        assert len(await _requests(pool, "end_auction")) == 1
    summaries = [r["summary"] for r in await pool.fetch("SELECT summary FROM schedule_runs ORDER BY id")]
    assert summaries[0].startswith("1 expired auction(s)") and summaries[0].endswith("1 newly queued")
    assert summaries[1].endswith("0 newly queued")
    assert summaries[2].startswith("0 expired")


async def test_one_leader_runs_each_period_and_a_standby_takes_over(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str
) -> None:
    await _wallets(pool, 1)
    other_pool = await create_pool(db_url, max_size=3)
    try:
        async with RpcClient([chain]) as one, RpcClient([chain]) as two:
            intervals = {"accrue": 0.5, "end_auctions": 0.5, "approve_pending": 0, "settle_approved": 0}
            first = Scheduler(_ctx(pool, one, manifest, schedule_intervals=intervals), db_url, poll_interval=0.05)
            second = Scheduler(
                _ctx(other_pool, two, manifest, schedule_intervals=intervals), db_url, poll_interval=0.05
            )
            stops = [asyncio.Event(), asyncio.Event()]
            tasks = [asyncio.create_task(s.run(stop)) for s, stop in zip((first, second), stops, strict=True)]
            await asyncio.sleep(2.0)
            assert first.leader != second.leader
            leader, standby = (first, second) if first.leader else (second, first)
            before = await pool.fetch("SELECT job, runner FROM schedule_runs")
            assert {r["runner"] for r in before} == {leader.runner}
            assert {r["job"] for r in before} == {"accrue", "end_auctions"}

            stops[0 if leader is first else 1].set()  # the leader stops: its session, and the lock, go
            await asyncio.sleep(2.0)
            assert standby.leader
            stops[0 if standby is first else 1].set()
            await asyncio.gather(*tasks)
    finally:
        await other_pool.close()
    runs = await pool.fetch("SELECT job, due_at, runner, status FROM schedule_runs ORDER BY job, due_at")
    assert {r["runner"] for r in runs} == {leader.runner, standby.runner}
    assert all(r["status"] == "succeeded" for r in runs)
    dues = [r["due_at"].timestamp() for r in runs if r["job"] == "accrue"]
    assert [round((b - a) * 2) for a, b in itertools.pairwise(dues)] == [1] * (len(dues) - 1)  # no gap
    assert len(dues) >= 6
    epochs = [int(r["payload"]["epoch"]) for r in await _requests(pool, "accrue")]
    assert len(epochs) == len(set(epochs)) == len(dues)  # one request per period, none twice


async def test_a_run_killed_midway_is_resumed_by_the_next_leader_without_a_second_effect(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str
) -> None:
    await _wallets(pool, 2)
    async with RpcClient([chain]) as client:
        ctx = _ctx(pool, client, manifest)
        hanging = Schedule("accrue", f"{__name__}:accrue_then_hang", 3600, catch_up=True)
        crashed = Scheduler(ctx, db_url, schedules=(hanging,), poll_interval=0.05)
        task = asyncio.create_task(crashed.run(asyncio.Event()))
        for _ in range(200):
            if await _requests(pool, "accrue"):
                break
            await asyncio.sleep(0.05)
        task.cancel()  # killed between enqueue and recording the run's end
        with pytest.raises(asyncio.CancelledError):
            await task
        run = await pool.fetchrow("SELECT * FROM schedule_runs")
        assert (run["status"], run["attempts"]) == ("running", 1)

        restarted = Scheduler(ctx, db_url, schedules=(ACCRUE,))
        assert await restarted.lead()
        assert await restarted.tick() == 0  # the period has its run: not started again
        assert not crashed.leader
    run = await pool.fetchrow("SELECT * FROM schedule_runs")
    assert (run["status"], run["attempts"], run["runner"]) == ("succeeded", 2, restarted.runner)
    assert run["summary"].endswith("0 newly queued")
    assert len(await _requests(pool, "accrue")) == 1
    await restarted.lock.release()


TRIGGERS: list[bool] = []
SEEN: list[tuple[int | None, str]] = []


async def trigger_once(ctx: JobContext) -> bool:
    return TRIGGERS.pop(0) if TRIGGERS else False


async def record_run(ctx: JobContext) -> str:
    SEEN.append((ctx.period, "trigger" if ctx.period is None else "periodic"))
    return "recorded"


async def test_a_trigger_starts_an_extra_run_at_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str
) -> None:
    TRIGGERS[:], SEEN[:] = [False, True, False], []
    schedule = Schedule("settle_like", f"{__name__}:record_run", 3600, trigger=f"{__name__}:trigger_once")
    async with RpcClient([chain]) as client:
        scheduler = Scheduler(_ctx(pool, client, manifest), db_url, schedules=(schedule,))
        now = time.time()
        assert await scheduler.tick(now) == 1  # the period's run; the trigger says no
        assert await scheduler.tick(now + 1) == 1  # the trigger fires: an extra run now
        assert await scheduler.tick(now + 2) == 0
    assert [(int(now // 3600), "periodic"), (None, "trigger")] == SEEN
    keys = [r["period_key"] for r in await pool.fetch("SELECT period_key FROM schedule_runs ORDER BY id")]
    assert keys[1].startswith("trigger:")


async def test_end_auctions_tries_again_when_the_earlier_request_failed(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, relayer_key: str
) -> None:
    """Found by the chaos run: an end_auction request that failed its pre-flight (a reorg made the auction
    "not over" or "not active" for a moment) used the auction's only idempotency key, so the auction stayed
    active forever. While it is still active and expired in the index, a new attempt is queued."""
    send(chain, manifest, SELLER, "MeetingAuction", "create_auction", [1000, 300, "retried"])
    send(chain, manifest, ALICE, "MeetingAuction", "bid", [1], value=1500)
    rpc(chain, "evm_increaseTime", [PAST_AUCTION_END_S])
    rpc(chain, "evm_mine")
    await pool.execute(
        "INSERT INTO tx_requests (kind, idempotency_key, payload, status, last_error)"
        " VALUES ('end_auction', $1, '{\"auction_id\": \"1\"}'::jsonb, 'failed', 'pre-flight: auction: not over')",
        f"end_auction:{manifest.chain_id}:1",
    )
    async with RpcClient([chain]) as client:
        indexer = make_indexer(manifest, pool, client)
        await sync(indexer)
        scheduler = Scheduler(_ctx(pool, client, manifest), db_url, schedules=(END_AUCTIONS,))
        now = time.time()
        assert await scheduler.tick(now) == 1
        assert await scheduler.tick(now + 60) == 1  # the new attempt is live: not queued a third time
        keys = [r["idempotency_key"] for r in await pool.fetch("SELECT idempotency_key FROM tx_requests ORDER BY id")]
        assert keys == [f"end_auction:{manifest.chain_id}:1", f"end_auction:{manifest.chain_id}:1:1"]
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
        await sync(indexer)
    assert await pool.fetchval("SELECT status FROM auctions WHERE auction_id = 1") == "ended"
    assert await pool.fetchval("SELECT owner FROM meeting_passes WHERE auction_id = 1") == ALICE.lower()
