"""The workers' sweep against procrastinate's real tables: a stalled job is handed back once; a stalled
``check`` whose twin (same queueing lock) already waits is removed instead of being refused on every sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

from api.generation import worker
from tests.fake_kie import FakeKie
from tests.integration.api.generation.conftest import KIE_KEY, gen_settings

INSERT = """INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args, status)
            VALUES ('generation', $1, $2, $3::jsonb, $4) RETURNING id"""


async def test_the_sweep_hands_back_stalled_jobs_and_drops_a_check_whose_twin_waits(
    db_url: str, chain: str, manifest_path: Path, pool: asyncpg.Pool, s3_settings: dict[str, Any]
) -> None:
    settings = gen_settings(db_url, chain, manifest_path, s3_settings, FakeKie(KIE_KEY), 1)
    job = "00000000-0000-4000-8000-000000000001"
    args, lock = json.dumps({"job_id": job}), f"generation.check:{job}"
    # No worker row: what a SIGKILLed worker leaves once the next one pruned it (worker_id set NULL).
    stalled_poll = await pool.fetchval(INSERT, "generation.poll", None, args, "doing")
    stalled_check = await pool.fetchval(INSERT, "generation.check", lock, args, "doing")
    waiting_check = await pool.fetchval(INSERT, "generation.check", lock, args, "todo")
    async with worker.opened(settings) as (app, generation):
        assert await worker.sweep_once(app, generation, settings.generation_stalled_after) == (1, 0)
        assert await worker.sweep_once(app, generation, settings.generation_stalled_after) == (0, 0)
    rows = {r["id"]: r["status"] for r in await pool.fetch("SELECT id, status FROM procrastinate_jobs")}
    assert rows == {stalled_poll: "todo", waiting_check: "todo"}, (rows, stalled_check)
