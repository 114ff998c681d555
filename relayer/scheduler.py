"""Runs the registered schedules (``relayer/schedules.py``) in one leader relayer process.

Leadership is a Postgres session advisory lock: the process holding it runs the jobs, any other
relayer is a standby that takes over when the leader's session ends (crash, network loss).
Every run is a row of ``schedule_runs`` (job, period key, due time), inserted before the job
starts under a unique (job, period_key): two leaders can never both start a period, and after a
restart the missed periods are found from the last due time (all of them for ``catch_up`` jobs,
the latest for the others). A run left ``running`` by a crash is resumed by the next leader, and
a failed one retried with a backoff until ``max_attempts``; jobs enqueue with idempotency keys of
their period, so a resumed run has no second effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import socket
import time
from datetime import UTC, datetime

import asyncpg

from core.backoff import Backoff
from core.db.leader import LeaderLock
from core.db.outage import database_errors
from core.errors import RetryableError
from relayer.jobs import Job, JobContext
from relayer.metrics import SCHEDULE_LAST_SUCCESS, SCHEDULE_LEADER, SCHEDULE_RUNS, SCHEDULE_SECONDS
from relayer.schedules import SCHEDULES, Schedule, resolve

log = logging.getLogger("relayer.scheduler")

MAX_CATCH_UP = 366  # periods run after a long outage (older ones are logged as skipped)


SCHEDULER_LOCK_KEY = 0x72736368  # "rsch": with the chain id, the advisory lock the schedules' leader holds


class Scheduler:
    def __init__(
        self,
        ctx: JobContext,
        dsn: str,
        *,
        schedules: tuple[Schedule, ...] = SCHEDULES,
        poll_interval: float = 0.5,
    ) -> None:
        self.ctx = ctx
        self.q = ctx.store.q
        self.pool = ctx.pool
        self.lock = LeaderLock(dsn, ctx.chain_id, key=SCHEDULER_LOCK_KEY, role="schedule")
        self.poll_interval = poll_interval
        self.max_attempts = ctx.settings.max_attempts
        self.runner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.leader = False
        overrides = ctx.settings.schedule_intervals
        self.schedules = {s.name: dataclasses.replace(s, every=overrides.get(s.name, s.every)) for s in schedules}
        self._jobs: dict[str, Job] = {}

    @property
    def enabled(self) -> list[Schedule]:
        return [s for s in self.schedules.values() if s.every > 0]

    def _job(self, schedule: Schedule) -> Job:
        if schedule.name not in self._jobs:
            self._jobs[schedule.name] = resolve(schedule.job)
        return self._jobs[schedule.name]

    async def run(self, stop: asyncio.Event) -> None:
        if not self.enabled:
            log.info("no schedule enabled")
            return
        backoff = Backoff()
        try:
            while not stop.is_set():
                try:
                    async with database_errors():
                        if await self.lead():
                            await self.tick()
                    backoff.reset()
                except (RetryableError, asyncpg.PostgresError) as exc:
                    log.warning("scheduler pass failed (%s); leadership is re-checked", exc)
                    await self._step_down()
                    await backoff.wait(stop)  # capped exponential while the database is away
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval)
        finally:
            await self._step_down()

    async def lead(self) -> bool:
        """True while this process is the leader; takes the lock when it is free."""
        if self.leader:
            await self.lock.check()
            return True
        if not await self.lock.try_acquire():
            return False
        self.leader = True
        SCHEDULE_LEADER.set(1)
        log.info("schedule leader (%s): %s", self.runner, ", ".join(f"{s.name}/{s.every:g}s" for s in self.enabled))
        await self.retry_open(include_running=True)  # whatever a crashed leader left running
        return True

    async def _step_down(self) -> None:
        if self.leader:
            log.info("no longer the schedule leader")
        self.leader = False
        SCHEDULE_LEADER.set(0)
        await self.lock.release()

    def periods_due(self, schedule: Schedule, last_due: datetime | None, now: float) -> list[int]:
        current = int(now // schedule.every)
        if last_due is None:
            return [current]
        last = round(last_due.timestamp() / schedule.every)
        if current <= last:
            return []
        if not schedule.catch_up:
            return [current]
        first = last + 1
        if current - first + 1 > MAX_CATCH_UP:
            log.warning("%s: %d periods missed; running the last %d", schedule.name, current - last, MAX_CATCH_UP)
            first = current - MAX_CATCH_UP + 1
        return list(range(first, current + 1))

    async def tick(self, now: float | None = None) -> int:
        """Start every run that is due; returns how many ran."""
        now = time.time() if now is None else now
        ran = 0
        for schedule in self.enabled:
            last_due = await self.pool.fetchval(self.q.schedule_last_due, schedule.name)
            for period in self.periods_due(schedule, last_due, now):
                due = datetime.fromtimestamp(period * schedule.every, UTC)
                ran += await self._start(schedule, due.isoformat(), due, period)
            if schedule.trigger and not await self.pool.fetchval(self.q.schedule_running, schedule.name):
                try:
                    due_now = bool(await resolve(schedule.trigger)(self.ctx))
                except Exception:
                    log.exception("%s: trigger %s failed", schedule.name, schedule.trigger)
                    due_now = False
                if due_now:
                    stamp = datetime.fromtimestamp(now, UTC)
                    ran += await self._start(schedule, f"trigger:{stamp.isoformat()}", stamp, None)
        ran += await self.retry_open(include_running=False)
        return ran

    async def _start(self, schedule: Schedule, key: str, due: datetime, period: int | None) -> int:
        run_id = await self.pool.fetchval(self.q.schedule_start, schedule.name, key, due, self.runner)
        if run_id is None:
            return 0  # another leader started this period
        await self._execute(schedule, run_id, due, period)
        return 1

    async def retry_open(self, *, include_running: bool) -> int:
        resumed = 0
        for row in await self.pool.fetch(self.q.schedule_open_runs, self.max_attempts, include_running):
            schedule = self.schedules.get(row["job"])
            if schedule is None or schedule.every <= 0:
                continue
            if await self.pool.fetchval(self.q.schedule_resume, row["id"], self.runner) is None:
                continue
            triggered = row["period_key"].startswith("trigger:")
            period = None if triggered else round(row["due_at"].timestamp() / schedule.every)
            log.warning("%s %s: resuming run %d (%s before)", row["job"], row["period_key"], row["id"], row["status"])
            await self._execute(schedule, row["id"], row["due_at"], period)
            resumed += 1
        return resumed

    async def _execute(self, schedule: Schedule, run_id: int, due: datetime, period: int | None) -> None:
        ctx = dataclasses.replace(self.ctx, due_at=due, period=period)
        started = time.perf_counter()
        try:
            summary = await self._job(schedule)(ctx)
        except Exception as exc:  # noqa: BLE001 (a job's failure is recorded and retried, never fatal)
            error = f"{type(exc).__name__}: {exc}"
            await self.pool.execute(self.q.schedule_finish, run_id, "failed", None, error)
            SCHEDULE_RUNS.labels(schedule.name, "failed").inc()
            log.error("%s run %d (due %s) failed: %s", schedule.name, run_id, due.isoformat(), error)
            return
        finally:
            SCHEDULE_SECONDS.labels(schedule.name).observe(time.perf_counter() - started)
        await self.pool.execute(self.q.schedule_finish, run_id, "succeeded", summary, None)
        SCHEDULE_RUNS.labels(schedule.name, "succeeded").inc()
        SCHEDULE_LAST_SUCCESS.labels(schedule.name).set(time.time())
        log.info("%s run %d (due %s): %s", schedule.name, run_id, due.isoformat(), summary)
