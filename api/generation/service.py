"""Generation jobs: priced by the server, credits held, settled exactly once (README "Generation").

A job is a row of ``generation_jobs`` moved by one state machine: ``queued`` (credits held, the
``generation.submit`` procrastinate job deferred in the same transaction) → ``running`` (the provider
task exists) → ``succeeded`` (result copied to our storage, video row, credits committed) or ``failed``
(credits released). Every move to an end state locks the row (``FOR UPDATE``) and only leaves an open
state, in the transaction that settles the credits: two workers, a callback and a poll racing on one
job produce one outcome. The provider's callback only wakes the job (``generation.check``); what it
reports is read back from the provider's own task record, so a forged body changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from api.credits.service import VIDEO_FEATURE, CreditLedger, video_price
from api.domain_errors import Unauthenticated
from api.generation.kie import Kie, ProviderRefused
from api.media.service import Media
from api.settings import ApiSettings
from core.db import Queries, translate_errors
from core.errors import AppError, ConfigError, Conflict, NotFound

log = logging.getLogger("api.generation")
QUERIES = Queries(Path(__file__).with_name("queries.sql"))
OPEN = ("queued", "running")
# Under a backlog, finishing a job comes before starting another: a check (a callback came) first, then a poll.
PRIORITY = {"generation.check": 2, "generation.poll": 1, "generation.submit": 0}


def _jsonable(row: asyncpg.Record) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
            for k, v in dict(row).items()}  # fmt: skip


class Generation:
    def __init__(
        self, pool: asyncpg.Pool, ledger: CreditLedger, media: Media, settings: ApiSettings, kie: Kie | None = None
    ) -> None:
        self.pool, self.ledger, self.media, self.settings, self.kie = pool, ledger, media, settings, kie
        self.q = QUERIES
        self._secret = settings.generation_callback_secret.get_secret_value().encode()

    # ------------------------------------------------------------------ the API's side
    def token(self, job_id: str) -> str:
        """The job's callback secret: HMAC of its id under the server's secret (nothing to store, nothing to leak)."""
        return hmac.new(self._secret, f"kie-callback:{job_id}".encode(), hashlib.sha256).hexdigest()

    def callback_url(self, job_id: str) -> str:
        base = self.settings.public_base_url.rstrip("/")
        return f"{base}/api/kie-callback?job={job_id}&token={self.token(job_id)}"

    async def create(self, user_id: int, request: dict[str, Any], key: str) -> dict[str, Any]:
        """Price the request, hold the credits and queue the job, in one transaction (idempotent by ``key``)."""
        if not self.settings.generation_configured:
            raise ConfigError("generation is off: API_KIE_API_KEY and API_GENERATION_CALLBACK_SECRET")
        price = video_price(request["duration"], request["quality"])
        job_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"generation:{user_id}:{key}"))
        ttl = min(7 * 86400, 2 * self.settings.generation_timeout + 3600)  # outlives the job's deadline
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            held = await self.ledger.reserve_in(
                conn, user_id, price, feature=VIDEO_FEATURE, reference=job_id, key=f"generate:{key}", ttl=ttl
            )
            if held["replayed"]:
                return await self._status(conn, job_id, user_id)
            usage_id = held["usage"]["id"]
            prompt = request.pop("prompt")
            await conn.fetchrow(
                self.q.insert_job, uuid.UUID(job_id), user_id, usage_id, prompt, request, price,
                float(self.settings.generation_timeout),
            )  # fmt: skip
            await self.defer(conn, "generation.submit", job_id)
            return await self._status(conn, job_id, user_id)

    async def defer(self, conn: asyncpg.Connection | asyncpg.Pool, task: str, job_id: str, after: float = 0) -> None:
        """Defer a procrastinate job for this generation job (a second ``check`` while one waits is a no-op)."""
        queueing_lock = f"{task}:{job_id}" if task == "generation.check" else None
        args = (task, queueing_lock, {"job_id": job_id}, after, PRIORITY[task])
        if isinstance(conn, asyncpg.Pool):
            with contextlib.suppress(asyncpg.UniqueViolationError):
                await conn.execute(self.q.defer_job, *args)
            return
        # A savepoint: the conflict of a waiting job's queueing lock must not abort the caller's transaction.
        with contextlib.suppress(asyncpg.UniqueViolationError):  # that job is already waiting: it does the work
            async with conn.transaction():
                await conn.execute(self.q.defer_job, *args)

    async def status(self, job_id: str, user_id: int) -> dict[str, Any]:
        async with translate_errors():
            return await self._status(self.pool, job_id, user_id)

    async def _status(self, conn: asyncpg.Connection | asyncpg.Pool, job_id: str, user_id: int) -> dict[str, Any]:
        row = await conn.fetchrow(self.q.job_by_id, uuid.UUID(job_id))
        if row is None or row["user_id"] != user_id:
            raise NotFound("no such generation task", details={"task_id": job_id})
        return {
            "task_id": str(row["id"]),
            "status": row["status"],
            "price": row["price"],
            "params": row["params"],
            "prompt": row["prompt"],
            "error": row["error"],
            "video_id": row["video_id"],
            "created_at": row["created_at"].isoformat(),
            "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        }

    async def callback(self, job_id: str, token: str, task_id: str) -> dict[str, Any]:
        """A provider callback: wakes the job (read back from the provider), or changes nothing."""
        if not self.settings.generation_configured:
            raise ConfigError("generation is off: API_KIE_API_KEY and API_GENERATION_CALLBACK_SECRET")
        if not hmac.compare_digest(token.encode(), self.token(job_id).encode()):
            raise Unauthenticated("bad callback token", details={"reason": "invalid"})
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.job_by_id, uuid.UUID(job_id))
            if row is None or (row["provider_task_id"] is not None and row["provider_task_id"] != task_id):
                raise NotFound("no such generation task", details={"task_id": task_id})
            if row["status"] != "running":
                return {"accepted": False, "status": row["status"]}  # settled (or not started): nothing to do
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(self.q.note_callback, row["id"])
                await self.defer(conn, "generation.check", job_id)
        return {"accepted": True, "status": "running"}

    async def videos(self, user_id: int, before: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors():
            rows = await self.pool.fetch(self.q.videos_page, user_id, before, limit)
        return [await self._video(r) for r in rows]

    async def video(self, user_id: int, video_id: int) -> dict[str, Any]:
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.video_by_id, video_id, user_id)
        if row is None:
            raise NotFound("no such video", details={"video_id": video_id})
        return await self._video(row)

    async def _video(self, row: asyncpg.Record) -> dict[str, Any]:
        out = _jsonable(row)
        out["task_id"] = out.pop("job_id")
        out["url"] = await self.media.storage.url(out.pop("object_key"), self.settings.media_read_ttl)
        return out

    async def delete_video(self, user_id: int, video_id: int) -> dict[str, Any]:
        """Remove the stored object, then the row (a store outage leaves both: retry the delete)."""
        async with translate_errors():
            row = await self.pool.fetchrow(self.q.video_by_id, video_id, user_id)
            if row is None:
                raise NotFound("no such video", details={"video_id": video_id})
            await self.media.storage.delete([row["object_key"]])
            await self.pool.execute(self.q.delete_video, video_id, user_id)
        return {"deleted": video_id}

    # ------------------------------------------------------------------ the worker's steps
    def _kie(self) -> Kie:
        if self.kie is None:
            raise ConfigError("this process has no generation provider client")
        return self.kie

    async def submit(self, job_id: str) -> None:
        """Create the provider task (retried with backoff on a retryable failure), then start polling."""
        row = await self.pool.fetchrow(self.q.job_by_id, uuid.UUID(job_id))
        if row is None or row["status"] != "queued":
            return
        if row["overdue"]:
            await self.finish(job_id, "failed", "timed out before the provider took it")
            return
        params = row["params"]
        try:
            task_id = await self._kie().create(
                row["prompt"], params["aspect_ratio"], params.get("image_url"), self.callback_url(job_id)
            )
        except ProviderRefused as exc:
            await self.finish(job_id, "failed", str(exc))
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q.mark_running, row["id"], task_id)
            await self.defer(conn, "generation.poll", job_id, self.settings.generation_poll_interval)

    async def check(self, job_id: str, *, poll: bool) -> None:
        """Read the provider's record: settle the job, or (a poll) look again later; past the deadline it fails."""
        row = await self.pool.fetchrow(self.q.job_by_id, uuid.UUID(job_id))
        if row is None or row["status"] != "running":
            return
        state = await self._kie().state(row["provider_task_id"])
        if state.status == "succeeded" and state.result_url:
            try:
                await self._store(row, state.result_url)
            except ProviderRefused as exc:  # empty or over the size limit: fetching it again changes nothing
                await self.finish(job_id, "failed", exc.message)
        elif state.status == "failed":
            await self.finish(job_id, "failed", state.error)
        elif row["overdue"]:
            await self.finish(job_id, "failed", "timed out")
        elif poll:
            await self.defer(self.pool, "generation.poll", job_id, self.settings.generation_poll_interval)

    @staticmethod
    def object_key(job: asyncpg.Record) -> str:
        return f"generations/{job['user_id']}/{job['id']}.mp4"

    async def _store(self, row: asyncpg.Record, url: str) -> None:
        """Copy the result to our bucket, then (row locked, still open) commit the hold and write the video."""
        data, content_type = await self._kie().download(url)
        key = self.object_key(row)
        await self.media.storage.put(key, data, content_type)
        async with self.pool.acquire() as conn, conn.transaction():
            job = await conn.fetchrow(self.q.lock_open_job, row["id"])
            if job is None or job["status"] != "running":
                ended = await conn.fetchval(self.q.job_status, row["id"])
                if ended != "succeeded":  # timed out meanwhile: the copy is nobody's
                    await self._discard(key)
                return
            if not await self._settle(conn, job, charge=True):
                await conn.execute(self.q.finish_job, job["id"], "failed", "the credits hold expired")
                succeeded = False
            else:
                await conn.fetchval(
                    self.q.insert_video, job["user_id"], job["id"], key, content_type, len(data), job["prompt"],
                    job["params"],
                )  # fmt: skip
                await conn.execute(self.q.finish_job, job["id"], "succeeded", None)
                succeeded = True
        if not succeeded:
            await self._discard(key)
            return
        log.info("generation %s succeeded (%d bytes)", row["id"], len(data))

    async def _settle(self, conn: asyncpg.Connection, job: asyncpg.Record, *, charge: bool) -> bool:
        """Commit or release the job's hold (a savepoint); False if the ledger had already released it (its
        TTL passed: the user's next mutation gave the credits back), which ends the job without a second move."""
        try:
            async with conn.transaction():
                await self.ledger.settle_in(
                    conn, job["user_id"], job["usage_id"], charge=charge, key=f"generation:{job['id']}:end"
                )
        except Conflict as exc:
            log.warning("generation %s: its credits hold was already settled (%s)", job["id"], exc.message)
            return False
        return True

    async def _discard(self, key: str) -> None:
        """Delete a copy no video row owns (best effort: a storage outage leaves it behind, logged)."""
        try:
            await self.media.storage.delete([key])
        except AppError as exc:
            log.warning("generation: could not delete %s (%s)", key, exc.message)

    async def finish(self, job_id: str, status: str, error: str | None) -> bool:
        """Fail an open job and release its credits, once (False: it had already ended); a copy of its result
        stored before a crash is deleted."""
        async with self.pool.acquire() as conn, conn.transaction():
            job = await conn.fetchrow(self.q.lock_open_job, uuid.UUID(job_id))
            if job is None:
                return False
            await self._settle(conn, job, charge=False)
            await conn.execute(self.q.finish_job, job["id"], status, error)
        await self._discard(self.object_key(job))
        log.info("generation %s failed: %s", job_id, error)
        return True

    async def sweep(self, limit: int = 100) -> int:
        """Fail the open jobs past their deadline (callback never came, provider silent); returns how many."""
        ended = 0
        for row in await self.pool.fetch(self.q.overdue_jobs, limit):
            ended += await self.finish(str(row["id"]), "failed", "timed out")  # a job another worker ended: False
        return ended
