"""``python -m api.generation.worker``: the generation jobs' worker (procrastinate), any number at once.

Each process runs procrastinate's worker on the ``generation`` queue (its tasks: ``submit``, ``check``,
``poll``, each retried with exponential backoff) and a sweep every ``API_GENERATION_SWEEP_INTERVAL``
seconds that (1) hands back the jobs of a worker that stopped heartbeating (SIGKILLed, its machine
gone) and (2) fails the generation jobs past their deadline, releasing their credits. Every step is
safe to run twice or concurrently: the end states are guarded by row locks (api/generation/service.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import procrastinate

from api.generation.service import Generation
from api.services import open_generation
from api.settings import ApiSettings
from core.process import start_process

log = logging.getLogger("api.generation.worker")
QUEUE = "generation"


def build_app(settings: ApiSettings, generation: Generation) -> procrastinate.App:
    """The procrastinate app: its connector (psycopg) and the generation tasks bound to ``generation``."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=settings.database_url))
    retry = procrastinate.RetryStrategy(max_attempts=8, exponential_wait=2)

    @app.task(name="generation.submit", queue=QUEUE, retry=retry)
    async def submit(job_id: str) -> None:
        await generation.submit(job_id)

    @app.task(name="generation.check", queue=QUEUE, retry=retry)
    async def check(job_id: str) -> None:
        await generation.check(job_id, poll=False)

    @app.task(name="generation.poll", queue=QUEUE, retry=retry)
    async def poll(job_id: str) -> None:
        await generation.check(job_id, poll=True)

    return app


async def sweep_once(app: procrastinate.App, generation: Generation, stalled_after: float) -> tuple[int, int]:
    """Hand back the stalled jobs, fail the overdue generations: (jobs handed back, generations failed)."""
    handed = 0
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
            handed += 1
        except procrastinate.exceptions.UniqueViolation:
            # A check whose twin (same queueing lock) already waits: that one does the work. Left ``doing``, this
            # one would be listed (and refused) on every sweep for ever.
            with contextlib.suppress(procrastinate.exceptions.ConnectorException):
                await app.job_manager.finish_job(job, procrastinate.jobs.Status.FAILED, delete_job=True)
        except procrastinate.exceptions.ConnectorException as exc:  # another worker handed it back first
            log.info("stalled job %s not handed back: %s", job.id, exc)
    return handed, await generation.sweep()


async def sweep(app: procrastinate.App, generation: Generation, settings: ApiSettings) -> None:
    while True:
        try:
            handed, failed = await sweep_once(app, generation, settings.generation_stalled_after)
            if handed or failed:
                log.info("sweep: %d stalled jobs handed back, %d overdue generations failed", handed, failed)
        except Exception:
            log.exception("generation sweep failed; retrying next interval")
        await asyncio.sleep(settings.generation_sweep_interval)


@asynccontextmanager
async def opened(settings: ApiSettings) -> AsyncIterator[tuple[procrastinate.App, Generation]]:
    async with AsyncExitStack() as stack:
        generation = await open_generation(settings, stack)
        app = build_app(settings, generation)
        async with app.open_async():
            yield app, generation


async def run(settings: ApiSettings, *, name: str = "generation", install_signal_handlers: bool = True) -> None:
    async with opened(settings) as (app, generation):
        sweeper = asyncio.create_task(sweep(app, generation, settings), name="generation:sweep")
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                name=name,
                concurrency=settings.generation_concurrency,
                update_heartbeat_interval=settings.generation_heartbeat,
                stalled_worker_timeout=settings.generation_stalled_after,
                fetch_job_polling_interval=min(5.0, settings.generation_poll_interval),
                install_signal_handlers=install_signal_handlers,
                delete_jobs="successful",
            )
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper


def main() -> None:
    settings = start_process(ApiSettings, "generation-worker")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
