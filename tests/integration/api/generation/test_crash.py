"""100 generations while both ``python -m api.generation.worker`` processes are SIGKILLed 10 times (each restarted
at once), the provider failing 20 % of its tasks and dropping 20 % of its callbacks: every job ends once, as the
provider's own record says (succeeded: one video, its object, credits committed; failed: credits released), with
no double charge or refund and books that sum to zero per user and overall (``audit``)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.generation.conftest import GenEnv, audit, spawn_worker, until
from tests.processes import stop

JOBS, USERS, KILLS = 100, 10, 10
DOING = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = $1"
logger = logging.getLogger(__name__)
SHAPES = [(5, "480p"), (5, "720p"), (8, "720p"), (10, "1080p"), (15, "480p")]


def started_worker(log: Path, nth: int) -> Awaitable[int | None]:
    """The procrastinate worker id of the log's ``nth`` process once it has started (else None)."""

    async def read() -> int | None:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        found = re.findall(r"Starting worker on queues.*?'worker_id': (\d+)", text)
        return int(found[nth - 1]) if len(found) >= nth else None

    return read()


@pytest.mark.parametrize("kie_options", [{"failure_rate": 0.2, "drop_rate": 0.2, "delay": 0.5, "seed": 16}])
@pytest.mark.parametrize(
    "settings_overrides",
    [{"generation_timeout": 900, "generation_heartbeat": 1.0, "generation_stalled_after": 6.0}],
)
async def test_every_job_ends_once_while_the_workers_are_killed(gen: GenEnv, tmp_path: Path) -> None:
    users = [await gen.user(f"crash{i}@example.com", 1500) for i in range(USERS)]
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    workers = [spawn_worker(gen.env, log) for log in logs]
    starts = [1, 1]  # how many processes each log has seen
    pick = random.Random(16)
    created: list[tuple[dict[str, Any], str]] = []

    async def create_all() -> None:
        for i in range(JOBS):
            duration, quality = SHAPES[i % len(SHAPES)]
            tokens = users[i % USERS]
            answer = await gen.generate(tokens, f"crash-{i:04d}", duration=duration, quality=quality)
            assert answer.status_code == 202, answer.text
            created.append((tokens, answer.json()["data"]["task_id"]))
            await asyncio.sleep(0.3)

    async def kill_all() -> list[int]:
        """Kill each worker in turn once it runs and holds a job (so every kill strikes work in flight)."""
        in_flight = []
        for kill in range(KILLS):
            victim = kill % 2
            log, nth = logs[victim], starts[victim]
            worker_id = await until(lambda: started_worker(log, nth), bool, within=120)  # noqa: B023 (awaited here)
            await asyncio.sleep(pick.uniform(0.2, 1.0))
            held = await until(lambda: gen.pool.fetchval(DOING, worker_id), bool, within=60, every=0.02)  # noqa: B023
            os.kill(workers[victim].pid, signal.SIGKILL)
            await asyncio.to_thread(workers[victim].wait, 30)
            in_flight.append(held)
            starts[victim] += 1
            workers[victim] = spawn_worker(gen.env, logs[victim])
        return in_flight

    try:
        creating = asyncio.create_task(create_all())
        in_flight = await kill_all()
        await creating
        assert len(in_flight) == KILLS and len(created) == JOBS
        open_jobs = "SELECT count(*) FROM generation_jobs WHERE status IN ('queued', 'running')"
        await until(lambda: gen.pool.fetchval(open_jobs), lambda n: n == 0, within=600)
        # Nothing is left running for ever on the dead workers' behalf (the sweep hands back or drops it), and a
        # check or poll still queued finds its job ended and writes nothing.
        doing = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
        await until(lambda: gen.pool.fetchval(doing), lambda n: n == 0, within=120)
    finally:
        for worker in workers:
            stop(worker)

    counts = await audit(gen)
    assert counts["jobs"] == JOBS and counts["succeeded"] + counts["failed"] == JOBS, counts
    jobs = await gen.pool.fetch("SELECT id, status, error, provider_task_id FROM generation_jobs")
    for job in jobs:  # the provider's record decided each outcome: no job fell back on its deadline
        task = gen.fake.tasks[job["provider_task_id"]]
        expected = ("succeeded", None) if task.state == 1 else ("failed", "content policy violation")
        assert (job["status"], job["error"]) == expected, (dict(job), task.state)
    videos = await gen.pool.fetch(
        "SELECT v.size_bytes, j.provider_task_id FROM videos v JOIN generation_jobs j ON j.id = v.job_id"
    )
    assert all(v["size_bytes"] == len(gen.fake.video_bytes(v["provider_task_id"])) for v in videos)
    for tokens, task_id in created[:: JOBS // 10]:  # what the API reports agrees with the books
        status = await gen.status(tokens, task_id)
        assert status["status"] in ("succeeded", "failed") and (status["video_id"] is None) == (
            status["status"] == "failed"
        ), status
    for tokens in users:
        assert (await gen.balance(tokens))["held"] == 0
    assert 0 < counts["failed"] < JOBS and gen.fake.dropped, (counts, len(gen.fake.dropped))
    text = "".join(log.read_text(errors="replace") for log in logs)
    assert "generation sweep failed" not in text, text[-4000:]
    handed = sum(int(n) for n in re.findall(r"sweep: (\d+) stalled jobs handed back", text))
    assert handed >= KILLS // 2, handed  # the killed workers' jobs were taken over (some finish just before)
    logger.warning(
        f"{JOBS} jobs, {KILLS} kills with {sum(in_flight)} jobs in flight, {handed} stalled jobs handed back: "
        f"{counts['succeeded']} succeeded, {counts['failed']} failed, "
        f"{gen.fake.created} provider tasks created, {len(gen.fake.dropped)} callbacks dropped, "
        f"{len(gen.fake.callbacks)} delivered"
    )
