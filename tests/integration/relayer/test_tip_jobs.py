"""settle_approved under concurrency: several jobs (separate connections, as two relayer processes)
batching one backlog never put an intent in two batches; a batch is one settle request of at most N
intents, its idempotency key derived from the batch; expired intents are refused, not batched."""

from __future__ import annotations

import asyncio
import secrets
import time

import asyncpg
import pytest

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import Queries, create_pool
from core.settings import ROOT
from relayer.jobs.intents import QUERIES, approved_backlog, batch_key, settle_approved
from tests.integration.api.tipping import job_context


async def _approved(pool: asyncpg.Pool, manifest: Manifest, n: int, *, deadline: int) -> list[str]:
    digests = ["0x" + secrets.token_hex(32) for _ in range(n)]
    sender, receiver = "0x" + secrets.token_hex(20), "0x" + "bb" * 20
    await pool.executemany(
        "INSERT INTO tip_intents (chain_id, digest, sender, receiver, token, amount, kind, nonce, deadline, signature,"
        " status, decided_at) VALUES ($1, $2, $3, $4, $5, 1, 1, $6, $7, $8, 'approved', now())",
        [(manifest.chain_id, d, sender, receiver, manifest.contract("Coin").address, i, deadline, "0x" + "11" * 65)
         for i, d in enumerate(digests)],
    )  # fmt: skip
    return digests


@pytest.mark.parametrize("jobs", [2, 4])
async def test_concurrent_settle_jobs_never_batch_an_intent_twice(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, db_url: str, jobs: int
) -> None:
    far = int(time.time()) + 86400
    digests = await _approved(pool, manifest, 40, deadline=far)
    expired = await _approved(pool, manifest, 3, deadline=1)
    # Widen the window between a job's claim and its commit, so the jobs' transactions overlap.
    await pool.execute(
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$;"
        " CREATE TRIGGER slow AFTER UPDATE ON tip_intents FOR EACH STATEMENT EXECUTE FUNCTION slow();"
    )
    pools = [await create_pool(db_url, max_size=2) for _ in range(jobs)]  # one pool per "relayer process"
    try:
        async with RpcClient([chain]) as client:
            # Different batch sizes: without row locks, overlapping claims would make different batches
            # (the same claim twice would be deduplicated by its idempotency key).
            contexts = [job_context(manifest, p, client, tips_settle_batch=3 + i) for i, p in enumerate(pools)]
            assert await approved_backlog(contexts[0]) == 43
            await asyncio.gather(*(settle_approved(ctx) for ctx in contexts))
            assert await settle_approved(contexts[0]) == "0 intents in 0 settle requests [], 0 expired"
            assert await approved_backlog(contexts[0]) == 0
    finally:
        for p in pools:
            await p.close()

    requests = await pool.fetch("SELECT id, idempotency_key, payload FROM tx_requests WHERE kind = 'settle'")
    batched: list[str] = []
    by_request: dict[int, set[str]] = {r["id"]: set() for r in requests}
    for row in await pool.fetch("SELECT digest, tx_request_id FROM tip_intents WHERE tx_request_id IS NOT NULL"):
        by_request[row["tx_request_id"]].add(row["digest"])
    for r in requests:
        intents = r["payload"]["intents"]
        assert 1 <= len(intents) <= 2 + jobs
        assert len(intents) == len(by_request[r["id"]])
        assert r["idempotency_key"] == batch_key(sorted(by_request[r["id"]]))
        batched.extend(by_request[r["id"]])
    assert sorted(batched) == sorted(digests)  # each intent in exactly one batch
    assert len(requests) >= 40 // (2 + jobs)
    statuses = dict(await pool.fetch("SELECT digest, status FROM tip_intents"))
    assert {statuses[d] for d in digests} == {"submitted"}
    assert {statuses[d] for d in expired} == {"refused"}


async def test_the_jobs_queries_prepare_against_the_schema(pool: asyncpg.Pool) -> None:
    queries = Queries(ROOT / "relayer" / "jobs" / "intents.sql")
    assert queries.items() == QUERIES.items()
    async with pool.acquire() as conn:
        for _, sql in queries.items():
            await conn.prepare(sql)
