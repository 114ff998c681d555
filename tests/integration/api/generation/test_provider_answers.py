"""A provider that answers partially, a callback that lies, a hold that expired: each job still ends once,
refused or harmless, its credits committed or released exactly once and nothing written twice.

- success with no result URL, or with a ``response`` that is not an object: failed at once, credits back;
- a record cut mid-JSON, a result file that 404s or whose body stops short of its Content-Length: retried
  (the provider may recover) until the deadline, then failed, credits back;
- a result larger than ``API_GENERATION_MAX_BYTES``: failed at once (not downloaded again and again);
- a legitimate result of several megabytes: stored whole (not the first network chunk);
- a callback with the genuine token but a body claiming success while the task still runs: nothing settles.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.api.generation.conftest import GenEnv, audit, in_process_worker, until
from tests.integration.api.payments.conftest import bearer

FAST_FAIL = {"generation_timeout": 5}


@pytest.mark.parametrize(
    ("kie_options", "settings_overrides", "error"),
    [
        ({"quirk": "no_result_url"}, {}, "the provider reported success without a result"),
        ({"quirk": "bad_shape"}, {}, "the provider reported success without a result"),
        ({"quirk": "malformed_json"}, FAST_FAIL, "timed out"),
        ({"quirk": "result_404"}, FAST_FAIL, "timed out"),
        ({"quirk": "truncated_result", "huge_bytes": 1024 * 1024}, FAST_FAIL, "timed out"),
        ({"quirk": "huge_result"}, {"generation_max_bytes": 256 * 1024}, "the result is empty or too large"),
    ],
    ids=["no-result-url", "bad-shape", "malformed-json", "result-404", "truncated-result", "huge-result"],
)
async def test_a_partial_answer_fails_the_job_once_and_gives_the_credits_back(gen: GenEnv, error: str) -> None:
    tokens = await gen.user("partial@example.com", 100)
    job = (await gen.generate(tokens, "gen-partial-0001")).json()["data"]
    async with in_process_worker(gen.settings):
        done = await gen.ended(tokens, job["task_id"])
        await asyncio.sleep(2 * gen.settings.generation_poll_interval)  # the queued poll / check find it ended
    assert done["status"] == "failed" and done["error"] == error and done["video_id"] is None, done
    assert await gen.balance(tokens) == {"available": 100, "held": 0}
    assert await audit(gen) == {"jobs": 1, "succeeded": 0, "failed": 1, "charged": 0}
    if gen.fake.quirk == "huge_result":  # refused, not fetched again on every retry
        assert gen.fake.files_served <= 2  # the callback's check and a poll may both have started


@pytest.mark.parametrize("kie_options", [{"video_size": 3 * 1024 * 1024 + 17}])
async def test_a_result_of_several_megabytes_is_stored_whole(gen: GenEnv) -> None:
    tokens = await gen.user("big@example.com", 100)
    job = (await gen.generate(tokens, "gen-big-0001")).json()["data"]
    async with in_process_worker(gen.settings):
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "succeeded", done
    [task_id] = gen.fake.tasks
    stored = await gen.s3.get_object(Bucket=gen.bucket, Key=f"generations/{tokens['user']['id']}/{job['task_id']}.mp4")
    async with stored["Body"] as body:
        assert await body.read() == gen.fake.video_bytes(task_id)
    assert await audit(gen) == {"jobs": 1, "succeeded": 1, "failed": 0, "charged": 20}


@pytest.mark.parametrize("kie_options", [{"delay": None}])
async def test_a_callback_claiming_success_while_the_task_runs_settles_nothing(gen: GenEnv) -> None:
    tokens = await gen.user("liar@example.com", 100)
    job = (await gen.generate(tokens, "gen-liar-0001")).json()["data"]
    async with in_process_worker(gen.settings):
        running = await until(lambda: gen.status(tokens, job["task_id"]), lambda s: s["status"] == "running")
        [task_id] = gen.fake.tasks
        task = gen.fake.tasks[task_id]
        lie: dict[str, Any] = {"code": 200, "msg": "ok", "data": {"taskId": task_id, "info": {
            "resultUrls": ["http://169.254.169.254/latest/meta-data"]}}}  # fmt: skip
        for _ in range(3):  # the genuine token (it leaked), a forged outcome, sent again and again
            assert await gen.fake.deliver(task.callback_url, lie, task_id) == 200
        await asyncio.sleep(3 * gen.settings.generation_poll_interval)
        assert (await gen.status(tokens, job["task_id"]))["status"] == "running" == running["status"]
        assert await gen.keys() == [] and await gen.balance(tokens) == {"available": 80, "held": 20}
        await gen.fake.finish(task_id, success=False)  # the provider's own record decides
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "failed" and done["error"] == "content policy violation"
    assert await audit(gen) == {"jobs": 1, "succeeded": 0, "failed": 1, "charged": 0}


@pytest.mark.parametrize("kie_options", [{"delay": None}])
@pytest.mark.parametrize("settings_overrides", [{"generation_timeout": 8}])
async def test_a_job_whose_hold_expired_still_ends_once(gen: GenEnv) -> None:
    """The ledger released the hold itself (its TTL passed while no worker ran): the job's end must not
    settle it again, nor stay open for ever blocking the sweep."""
    tokens = await gen.user("expired@example.com", 100)
    job = (await gen.generate(tokens, "gen-expired-0001")).json()["data"]
    await gen.pool.execute("UPDATE credit_usage SET expires_at = now() - interval '1 second' WHERE status = 'held'")
    spend = {"feature": "chat.flash", "quantity": 1, "idempotency_key": "spend-after-0001"}
    spent = await gen.client.post("/api/credits/spend", headers=bearer(tokens), json=spend)
    assert spent.status_code == 200, spent.text  # the user's next mutation released the expired hold
    assert await gen.balance(tokens) == {"available": 99, "held": 0}
    async with in_process_worker(gen.settings):
        await until(lambda: gen.status(tokens, job["task_id"]), lambda s: s["status"] == "running")
        [task_id] = gen.fake.tasks
        await gen.fake.finish(task_id, success=True)
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "failed" and done["video_id"] is None, done
    assert await gen.balance(tokens) == {"available": 99, "held": 0}  # the video was not given away, nor charged
    assert await audit(gen) == {"jobs": 1, "succeeded": 0, "failed": 1, "charged": 1}
