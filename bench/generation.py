"""Generation jobs end to end: N concurrent ``POST /api/generate`` through a running ``python -m api`` and
``--workers`` ``python -m api.generation.worker`` processes against the fake KIE provider (tests/fake_kie.py,
in this process) and an S3 wire server (moto, its own process), until every job has succeeded.

Prints, per variant: jobs/s (first request sent → last job settled), and per job p50/p99 from the provider
finishing (and, with callbacks, from our API answering the callback) to the credits committed (the commit
transaction's ``created_at``, stamped by the worker). Variants, same run:

- **callbacks**: every callback delivered, polling every ``--poll-slow`` s (it settles nothing in practice);
- **polling only** (baseline): every callback dropped, polling every ``--poll-fast`` s;
- **raw fake** (ceiling): the same number of tasks created on the fake directly, callbacks to a bare
  receiver — what the provider side alone allows.

Starts its own anvil (the API needs a deployment), a fresh database at ``BENCH_DATABASE_URL`` and uses
Redis at ``BENCH_REDIS_URL`` (flushed).

    .venv/bin/python -m bench.generation --jobs 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiobotocore.session import get_session
from aiohttp import web
from redis.asyncio import Redis

from anvil.deploy import deploy
from anvil.node import free_port, start_anvil
from api.credits.service import CreditLedger
from api.launch import spawn_api
from core.db import create_pool
from core.db.migrate import migrate
from core.settings import ROOT
from tests.fake_kie import FakeKie

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
KIE_KEY = "bench-kie-key-0123456789"
S3 = {"API_S3_ACCESS_KEY_ID": "bench-access-key", "API_S3_SECRET_ACCESS_KEY": "bench-secret-key-0123456789"}
PASSWORD = "bench-password-123"  # noqa: S105 (a throwaway database)
SETTLED = "SELECT count(*) FROM generation_jobs WHERE status IN ('succeeded', 'failed') AND id = ANY($1::uuid[])"
TIMES = """SELECT j.provider_task_id, j.status, extract(epoch FROM t.created_at)::float8 AS committed,
                  extract(epoch FROM j.created_at)::float8 AS created
           FROM generation_jobs j LEFT JOIN credit_transactions t ON t.usage_id = j.usage_id AND t.kind = 'commit'
           WHERE j.id = ANY($1::uuid[])"""


def _dsn(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figures(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{label} p50 {statistics.median(ms):,.0f} ms · p99 {_pct(ms, 0.99):,.0f} ms" if ms else f"{label} -"


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _end(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class Stack:
    """The processes of one run: the API (started once) and the generation workers (restarted per variant)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir = env, workdir
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_workers(self, count: int, poll: float, label: str) -> None:
        env = {**self.env, "API_GENERATION_POLL_INTERVAL": str(poll)}
        for i in range(count):
            with (self.workdir / f"worker-{label}-{i}.log").open("ab") as sink:
                self.workers.append(subprocess.Popen([sys.executable, "-m", "api.generation.worker"], cwd=ROOT,
                                                     env=env, stdout=sink, stderr=sink))  # fmt: skip

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            _end(worker)
        self.workers = []


async def _users(http: aiohttp.ClientSession, pool: asyncpg.Pool, count: int, credits: int) -> list[str]:
    ledger, tokens = CreditLedger(pool), []
    for i in range(count):
        async with http.post("/api/auth/signup", json={"email": f"maker{i}@bench.example", "password": PASSWORD}) as r:
            body = await r.json()
            assert r.status == 201, body
        async with pool.acquire() as conn, conn.transaction():
            await ledger.grant(conn, body["data"]["user"]["id"], credits, key=f"bench-grant-{i}")
        tokens.append(body["data"]["access_token"])
    return tokens


async def _variant(http: aiohttp.ClientSession, pool: asyncpg.Pool, fake: FakeKie, tokens: list[str], label: str,
                   jobs: int, in_flight: int) -> dict[str, Any]:  # fmt: skip
    """``jobs`` generations at once (``in_flight`` requests open at a time); waits for every one to settle."""
    gate, ids = asyncio.Semaphore(in_flight), []

    async def one(i: int) -> None:
        body = {"prompt": f"bench {label} {i}", "duration": 5, "quality": "720p", "idempotency_key": f"{label}-{i:06d}"}
        async with gate, http.post("/api/generate", json=body,
                                   headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"}) as response:  # fmt: skip
            data = await response.json()
            assert response.status == 202, data
            ids.append(data["data"]["task_id"])

    started = time.time()
    await asyncio.gather(*(one(i) for i in range(jobs)))
    accepted = time.time()
    deadline = time.monotonic() + max(900.0, jobs * 1.0)
    while await pool.fetchval(SETTLED, ids) < jobs:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: not every job settled in time")
        await asyncio.sleep(0.2)
    rows = await pool.fetch(TIMES, ids)
    ok = [r for r in rows if r["status"] == "succeeded" and r["committed"] is not None]
    ended = {r["provider_task_id"]: fake.tasks[r["provider_task_id"]].finished_wall or 0.0 for r in ok}
    finished = [r["committed"] - ended[r["provider_task_id"]] for r in ok]
    called = [r["committed"] - fake.delivered_at[r["provider_task_id"]] for r in ok
              if r["provider_task_id"] in fake.delivered_at]  # fmt: skip
    delay = fake.delay or 0.0
    submitted = [ended[r["provider_task_id"]] - delay - r["created"] for r in ok]
    last = max(r["committed"] for r in ok)
    return {"label": label, "jobs": jobs, "succeeded": len(ok), "rate": jobs / (last - started),
            "accept_rate": jobs / (accepted - started), "finished": finished, "called": called,
            "submitted": submitted}  # fmt: skip


async def _raw_fake(fake: FakeKie, jobs: int, in_flight: int) -> float:
    """Tasks created on the fake directly, each waited for until its callback reaches a bare receiver."""
    arrived: dict[str, asyncio.Future[None]] = {}

    def future(task_id: str) -> asyncio.Future[None]:
        return arrived.setdefault(task_id, asyncio.get_running_loop().create_future())

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        if not (done := future(body["data"]["taskId"])).done():
            done.set_result(None)
        return web.json_response({"success": True, "data": {"accepted": True}})

    app = web.Application()
    app.router.add_post("/cb", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    gate = asyncio.Semaphore(in_flight)
    headers = {"Authorization": f"Bearer {KIE_KEY}"}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def one(i: int) -> None:
                payload = {"prompt": f"raw {i}", "model": "veo3_fast", "aspectRatio": "16:9",
                           "callBackUrl": f"http://127.0.0.1:{port}/cb"}  # fmt: skip
                async with gate, http.post(f"{fake.url}/api/v1/veo/generate", json=payload, headers=headers) as r:
                    task_id = (await r.json())["data"]["taskId"]
                await future(task_id)

            started = time.time()
            await asyncio.gather(*(one(i) for i in range(jobs)))
            return jobs / (time.time() - started)
    finally:
        await runner.cleanup()


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    chain_port, s3_port, api_port = free_port(), free_port(), free_port()
    database = f"bench_generation_{os.getpid()}"
    async with AsyncExitStack() as stack:
        anvil = start_anvil(chain_port)
        stack.callback(_end, anvil)
        with (workdir / "s3.log").open("ab") as sink:
            s3 = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                                  cwd=ROOT, stdout=sink, stderr=sink)  # fmt: skip
        stack.callback(_end, s3)
        admin = await asyncpg.connect(ADMIN_DSN)
        stack.push_async_callback(admin.close)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
        stack.push_async_callback(admin.execute, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await migrate(_dsn(database))
        chain = f"http://127.0.0.1:{chain_port}"
        await asyncio.to_thread(deploy, chain, workdir / "deployment.json")
        redis = Redis.from_url(REDIS_URL)
        await redis.flushdb()
        await redis.aclose()
        fake = await FakeKie(KIE_KEY, delay=args.delay, video_size=args.video_bytes).start()
        stack.push_async_callback(fake.stop)
        endpoint = f"http://127.0.0.1:{s3_port}"
        session = get_session()
        async with session.create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                         aws_access_key_id=S3["API_S3_ACCESS_KEY_ID"],
                                         aws_secret_access_key=S3["API_S3_SECRET_ACCESS_KEY"]) as client:  # fmt: skip
            for _ in range(100):  # the server process is still starting
                try:
                    await client.create_bucket(Bucket="bench-generation")
                    break
                except Exception:  # noqa: BLE001 (not listening yet)
                    await asyncio.sleep(0.2)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "DATABASE_URL", "REDIS_URL"))}
        env.update({
            "API_ENVIRONMENT": "test", "API_DATABASE_URL": _dsn(database), "API_REDIS_URL": REDIS_URL,
            "API_RPC_URLS": chain, "API_MANIFEST_PATH": str(workdir / "deployment.json"),
            "API_JWT_SECRET": "bench-secret-0123456789-0123456789", "API_RATE_GENERAL": "0", "API_RATE_AUTH": "0",
            "API_RATE_GENERATION": "0", "API_RATE_SENSITIVE": "0", "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port), "API_WORKERS": "1", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "API_OUTBOX_DIR": str(workdir / "outbox"), "API_S3_ENDPOINT_URL": endpoint,
            "API_S3_BUCKET": "bench-generation", **S3, "API_KIE_API_BASE": fake.url, "API_KIE_API_KEY": KIE_KEY,
            "API_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
            "API_GENERATION_CALLBACK_SECRET": "bench-generation-callback-secret-0123",
            "API_GENERATION_CONCURRENCY": str(args.concurrency), "API_GENERATION_TIMEOUT": "3600",
            "API_GENERATION_SWEEP_INTERVAL": "5", "API_GENERATION_HEARTBEAT": "2",
            "API_GENERATION_STALLED_AFTER": "30",
        })  # fmt: skip
        api, url = await asyncio.to_thread(spawn_api, env, workdir / "api.log", timeout=300)
        stack.callback(_end, api)
        processes = Stack(env, workdir)
        stack.callback(processes.stop_workers)
        pool = await create_pool(_dsn(database), max_size=4)
        stack.push_async_callback(pool.close)
        load_before = os.getloadavg()[0]
        results = []
        async with aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=0)) as http:
            args.baseline = args.jobs if args.baseline is None else args.baseline
            per_user = (args.jobs + args.baseline) // args.users + 1
            tokens = await _users(http, pool, args.users, per_user * 20)
            for label, jobs, poll, drop in (("callbacks", args.jobs, args.poll_slow, 0.0),
                                            ("polling-only", args.baseline, args.poll_fast, 1.0)):  # fmt: skip
                if not jobs:
                    continue
                fake.drop_rate = drop
                processes.start_workers(args.workers, poll, label)
                while await pool.fetchval("SELECT count(*) FROM procrastinate_workers") < args.workers:
                    await asyncio.sleep(0.2)  # timed from the workers' start, not their interpreters'
                cpu = (_cpu(api.pid), sum(_cpu(w.pid) for w in processes.workers), _cpu(s3.pid), time.process_time())
                result = await _variant(http, pool, fake, tokens, label, jobs, args.in_flight)
                result["api_cpu"] = (_cpu(api.pid) - cpu[0]) / jobs
                result["worker_cpu"] = (sum(_cpu(w.pid) for w in processes.workers) - cpu[1]) / jobs
                result["s3_cpu"] = (_cpu(s3.pid) - cpu[2]) / jobs
                result["own_cpu"] = (time.process_time() - cpu[3]) / jobs
                results.append(result)
                processes.stop_workers()
        fake.drop_rate = 0.0
        raw = await asyncio.wait_for(_raw_fake(fake, args.jobs, args.in_flight), max(600.0, args.jobs * 1.0))
        load_after = os.getloadavg()[0]
        books = await pool.fetchval("SELECT coalesce(sum(amount), 0) FROM credit_entries")
        double = await pool.fetchval(
            "SELECT count(*) FROM (SELECT usage_id FROM credit_transactions WHERE kind IN ('commit', 'release') "
            "GROUP BY usage_id HAVING count(*) > 1) x"
        )
        print(f"{args.workers} workers x concurrency {args.concurrency}, API 1 worker, fake delay {args.delay} s, "
              f"result {args.video_bytes:,} bytes, {args.in_flight} requests in flight; "
              f"load {load_before:.1f} → {load_after:.1f}")  # fmt: skip
        for r in results:
            print(f"{r['label']:>13}: {r['jobs']:,} jobs, {r['succeeded']:,} succeeded · {r['rate']:,.1f} jobs/s "
                  f"end to end (requests accepted at {r['accept_rate']:,.0f}/s) · "
                  + _figures("provider finished → committed", r["finished"])
                  + (" · " + _figures("callback answered → committed", r["called"]) if r["called"] else "")
                  + " · " + _figures("job created → provider task created", r["submitted"])
                  + f" · CPU per job: API {r['api_cpu'] * 1000:.0f} ms, workers {r['worker_cpu'] * 1000:.0f} ms, "
                    f"S3 server {r['s3_cpu'] * 1000:.0f} ms, fake + client {r['own_cpu'] * 1000:.0f} ms")  # fmt: skip
        if len(results) == 2 and results[1]["finished"] and results[0]["called"]:
            ratio = statistics.median(results[1]["finished"]) / statistics.median(results[0]["called"])
            print(f"a delivered callback settles its job {ratio:.1f}x sooner (median) than polling every "
                  f"{args.poll_fast} s does from the provider's end")  # fmt: skip
        print(f"raw fake round trip (ceiling): {raw:,.1f} tasks/s for {args.jobs:,} tasks")
        print(f"sum of all entries: {books} (must be 0) · holds settled twice: {double} (must be 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="generations with callbacks")
    parser.add_argument("--baseline", type=int, default=None, help="generations with polling only (default --jobs)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="python -m api.generation.worker processes")
    parser.add_argument("--concurrency", type=int, default=20, help="API_GENERATION_CONCURRENCY per worker")
    parser.add_argument("--in-flight", type=int, default=200, help="POST /api/generate requests open at once")
    parser.add_argument("--delay", type=float, default=0.5, help="the fake provider's generation time, s")
    parser.add_argument("--video-bytes", type=int, default=64 * 1024, help="size of each result")
    parser.add_argument("--poll-slow", type=float, default=60.0, help="poll interval with callbacks, s")
    parser.add_argument("--poll-fast", type=float, default=1.0, help="poll interval of the polling-only baseline, s")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
