"""Generation jobs through a running API, the fake KIE provider and a procrastinate worker: success,
failure, dropped callbacks (polling), forged / replayed / unknown callbacks, a callback after the job
timed out, and tampered prices — each job ends once, its credits committed or released."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from tests.integration.api.generation.conftest import CALLBACK_SECRET, GenEnv, in_process_worker, until
from tests.integration.api.payments.conftest import bearer


async def books(gen: GenEnv) -> dict[str, int]:
    row = await gen.pool.fetchrow(
        "SELECT coalesce(sum(amount), 0) AS total, count(DISTINCT transaction_id) AS transactions FROM credit_entries"
    )
    return {"total": int(row["total"]), "transactions": int(row["transactions"])}


async def test_a_generation_succeeds_once_its_video_is_stored_and_its_credits_committed(gen: GenEnv) -> None:
    tokens = await gen.user("maker@example.com", 100)
    started = await gen.generate(tokens, "gen-happy-0001")
    assert started.status_code == 202, started.text
    job = started.json()["data"]
    assert job["price"] == 20 and job["status"] == "queued"  # 5 s x 720p (4 per second)
    assert await gen.balance(tokens) == {"available": 80, "held": 20}
    again = await gen.generate(tokens, "gen-happy-0001")  # the same key: the same job
    assert again.status_code == 202 and again.json()["data"]["task_id"] == job["task_id"]

    async with in_process_worker(gen.settings):
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "succeeded" and done["video_id"] is not None, done
    assert await gen.balance(tokens) == {"available": 80, "held": 0}
    [(task_id, status, answer)] = gen.fake.callbacks
    assert status == 200 and answer["data"] == {"accepted": True, "status": "running"}
    key = f"generations/{tokens['user']['id']}/{job['task_id']}.mp4"
    assert await gen.keys() == [key]
    stored = await gen.s3.get_object(Bucket=gen.bucket, Key=key)
    async with stored["Body"] as body:
        assert await body.read() == gen.fake.video_bytes(task_id)

    listed = (await gen.client.get("/api/videos?limit=1", headers=bearer(tokens))).json()["data"]
    assert [v["id"] for v in listed["items"]] == [done["video_id"]] and listed["next_cursor"] is not None
    after = await gen.client.get(f"/api/videos?cursor={listed['next_cursor']}", headers=bearer(tokens))
    assert after.json()["data"] == {"items": [], "next_cursor": None}
    video = (await gen.client.get(f"/api/videos/{done['video_id']}", headers=bearer(tokens))).json()["data"]
    assert video["task_id"] == job["task_id"] and video["size_bytes"] == len(gen.fake.video_bytes(task_id))
    other = await gen.user("other@example.com", 0)
    assert (await gen.client.get(f"/api/videos/{done['video_id']}", headers=bearer(other))).status_code == 404
    assert (await gen.client.get(f"/api/generate/status/{job['task_id']}", headers=bearer(other))).status_code == 404

    # The genuine callback replayed, forged tokens, unknown tasks: refused or harmless, nothing written.
    before = (await books(gen), await gen.pool.fetchval("SELECT count(*) FROM procrastinate_jobs"))
    url = f"{gen.url}/api/kie-callback?job={job['task_id']}"
    genuine = gen.fake.tasks[task_id].callback
    token = gen.fake.tasks[task_id].callback_url.split("token=")[1]
    replay = await gen.client.post(f"{url}&token={token}", json=genuine)
    assert replay.status_code == 200 and replay.json()["data"] == {"accepted": False, "status": "succeeded"}
    forged = await gen.client.post(f"{url}&token={'0' * 64}", json=genuine)
    assert forged.status_code == 401
    unknown_job = "00000000-0000-4000-8000-000000000000"
    valid_for_it = hmac.new(CALLBACK_SECRET.encode(), f"kie-callback:{unknown_job}".encode(), hashlib.sha256)
    unknown = await gen.client.post(
        f"{gen.url}/api/kie-callback?job={unknown_job}&token={valid_for_it.hexdigest()}", json=genuine
    )
    assert unknown.status_code == 404
    wrong_task = await gen.client.post(f"{url}&token={token}", json={"code": 200, "data": {"taskId": "veo_999"}})
    assert wrong_task.status_code == 404
    for bad in ("job=nope&token=x", f"job={job['task_id']}", ""):
        assert (await gen.client.post(f"/api/kie-callback?{bad}", json=genuine)).status_code == 400
    assert (await gen.client.post(f"{url}&token={token}", content=b"{not json")).status_code == 400
    assert (await books(gen), await gen.pool.fetchval("SELECT count(*) FROM procrastinate_jobs")) == before
    assert await gen.pool.fetchval("SELECT count(*) FROM videos") == 1

    deleted = await gen.client.delete(f"/api/videos/{done['video_id']}", headers=bearer(tokens))
    assert deleted.status_code == 200 and await gen.keys() == []
    assert (await gen.client.get(f"/api/videos/{done['video_id']}", headers=bearer(tokens))).status_code == 404
    assert (await books(gen))["total"] == 0


@pytest.mark.parametrize("kie_options", [{"failure_rate": 1.0}])
async def test_a_failed_generation_releases_its_credits(gen: GenEnv) -> None:
    tokens = await gen.user("unlucky@example.com", 100)
    job = (await gen.generate(tokens, "gen-fail-0001", duration=10, quality="1080p")).json()["data"]
    assert job["price"] == 80 and await gen.balance(tokens) == {"available": 20, "held": 80}
    async with in_process_worker(gen.settings):
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "failed" and done["error"] == "content policy violation" and done["video_id"] is None
    assert await gen.balance(tokens) == {"available": 100, "held": 0}
    assert await gen.keys() == [] and await gen.pool.fetchval("SELECT count(*) FROM videos") == 0
    usage = await gen.pool.fetchrow("SELECT status, charged FROM credit_usage WHERE feature = 'video.generate'")
    assert dict(usage) == {"status": "released", "charged": 0}


@pytest.mark.parametrize("kie_options", [{"drop_rate": 1.0}])
async def test_without_a_callback_polling_settles_the_job(gen: GenEnv) -> None:
    tokens = await gen.user("patient@example.com", 100)
    job = (await gen.generate(tokens, "gen-poll-0001")).json()["data"]
    async with in_process_worker(gen.settings):
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "succeeded" and gen.fake.callbacks == [] and len(gen.fake.dropped) == 1
    assert await gen.balance(tokens) == {"available": 80, "held": 0}


@pytest.mark.parametrize("kie_options", [{"delay": None}])
@pytest.mark.parametrize("settings_overrides", [{"generation_timeout": 5}])
async def test_a_callback_after_the_job_timed_out_changes_nothing(gen: GenEnv) -> None:
    tokens = await gen.user("late@example.com", 100)
    job = (await gen.generate(tokens, "gen-late-0001")).json()["data"]
    async with in_process_worker(gen.settings):
        done = await gen.ended(tokens, job["task_id"])
    assert done["status"] == "failed" and done["error"] == "timed out"
    assert await gen.balance(tokens) == {"available": 100, "held": 0}
    [task_id] = gen.fake.tasks
    before = await books(gen)
    await gen.fake.finish(task_id, success=True)  # the provider finishes late and calls back
    [(_, status, answer)] = gen.fake.callbacks
    assert status == 200 and answer["data"] == {"accepted": False, "status": "failed"}
    assert await books(gen) == before and await gen.keys() == []
    assert await gen.pool.fetchval("SELECT count(*) FROM videos") == 0


async def test_prices_come_from_the_server_and_bad_requests_write_nothing(gen: GenEnv) -> None:
    tokens = await gen.user("tamper@example.com", 30)
    bodies: list[dict[str, Any]] = [
        {"price": 1}, {"amount": 1}, {"credits": 0}, {"quality": "4k"}, {"duration": 7}, {"duration": "5"},
        {"prompt": ""}, {"aspect_ratio": "2:1"}, {"image_url": "http://169.254.169.254/"},
    ]  # fmt: skip
    for i, extra in enumerate(bodies):
        answer = await gen.generate(tokens, f"gen-bad-{i:04d}", **extra)
        assert answer.status_code == 400, (extra, answer.text)
    short = await gen.generate(tokens, "gen-short-001", duration=15, quality="1080p")  # 120 > 30
    assert short.status_code == 409 and short.json()["error"]["code"] == "insufficient_credits"
    assert await gen.pool.fetchval("SELECT count(*) FROM generation_jobs") == 0
    assert await gen.pool.fetchval("SELECT count(*) FROM procrastinate_jobs") == 0
    assert await gen.balance(tokens) == {"available": 30, "held": 0}
    assert (await gen.client.post("/api/generate", json={"prompt": "x"})).status_code == 401
    bad_id = await gen.client.get("/api/generate/status/not-a-task", headers=bearer(tokens))
    assert bad_id.status_code == 400
    assert (await gen.client.get("/api/videos/abc", headers=bearer(tokens))).status_code == 400
    prices = (await gen.client.get("/api/credits/prices")).json()["data"]
    assert {"feature": "video.generate", "quality": "1080p", "duration": 15, "price": 120} in prices["video"]
    await until(lambda: gen.balance(tokens), lambda b: b == {"available": 30, "held": 0})
