"""Manual intent review on real anvil: admins list pending intents with the approval policy's verdict,
approve or refuse one ahead of the hourly job (reason recorded), and a manual approval racing the job
(through a running ``python -m api``) decides the intent once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sanic import Sanic

from api.settings import ApiSettings
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.jobs.intents import approve_pending
from tests.integration.api.conftest import start_api
from tests.integration.api.tipping import creator, fund, intent, job_context, person
from tests.processes import stop

GIFT = 1


@pytest.fixture
def review_server(settings: ApiSettings, tmp_path: Path) -> Iterator[str]:
    """``python -m api`` (a slow, shared machine may take a while to start it)."""
    process, url = start_api(settings, {"API_OUTBOX_DIR": str(tmp_path / "outbox")}, tmp_path / "api.log", timeout=180)
    yield url
    stop(process)  # SIGTERM, grace, SIGKILL, always reaped


async def test_pending_verdicts_and_manual_decisions(
    app: Sanic, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    rich, poor = await person(app, pool), await person(app, pool)
    await fund(chain, manifest, pool, relayer_key, rich.address, tk=100, allowance=100)
    ids = []
    for fan, nonce in ((rich, 1), (rich, 2), (poor, 1)):
        _, sent = await app.asgi_client.post(
            "/api/contracts/gift", headers=fan.headers, json=intent(manifest, fan, star.address, GIFT, 10, nonce)
        )
        assert sent.status == 201, sent.text
        ids.append(await pool.fetchval("SELECT max(id) FROM tip_intents"))

    _, forbidden = await app.asgi_client.get("/api/admin/intents/pending", headers=star.headers)
    assert forbidden.status == 403
    _, listed = await app.asgi_client.get("/api/admin/intents/pending", headers=admin.headers)
    assert listed.status == 200, listed.text
    verdicts = [(i["id"], i["verdict"], i["verdict_reason"]) for i in listed.json["data"]["items"]]
    assert verdicts == [
        (ids[0], "approve", None),
        (ids[1], "approve", None),
        (ids[2], "refuse", "insufficient_balance"),
    ]

    _, unsettlable = await app.asgi_client.post(f"/api/admin/intents/{ids[2]}/approve", headers=admin.headers, json={})
    assert unsettlable.status == 409 and unsettlable.json["error"]["details"]["verdict"] == "insufficient_balance"
    _, refused = await app.asgi_client.post(
        f"/api/admin/intents/{ids[1]}/refuse", headers=admin.headers, json={"reason": "looks like a mistake"}
    )
    assert refused.status == 200, refused.text
    assert (refused.json["data"]["status"], refused.json["data"]["review_note"]) == ("refused", "looks like a mistake")
    _, approved = await app.asgi_client.post(
        f"/api/admin/intents/{ids[0]}/approve", headers=admin.headers, json={"note": "ok"}
    )
    assert approved.status == 200 and approved.json["data"]["decided_by"] == admin.id
    _, twice = await app.asgi_client.post(f"/api/admin/intents/{ids[0]}/refuse", headers=admin.headers,
                                          json={"reason": "x"})  # fmt: skip
    assert twice.status == 409 and twice.json["error"]["details"]["status"] == "approved"
    _, missing = await app.asgi_client.post("/api/admin/intents/999999/approve", headers=admin.headers, json={})
    assert missing.status == 404
    rows = await pool.fetch("SELECT id, status, reason, decided_by FROM tip_intents ORDER BY id")
    assert [(r["status"], r["reason"], r["decided_by"]) for r in rows] == [
        ("approved", None, admin.id), ("refused", "manual", admin.id), ("pending", None, None),
    ]  # fmt: skip
    async with RpcClient([chain]) as client:  # the job decides only what is left
        assert await approve_pending(job_context(manifest, pool, client)) == (
            "approved 0, refused 1 (insufficient_balance 1)"
        )


async def test_manual_approval_racing_the_job_decides_once(
    app: Sanic, review_server: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan = await person(app, pool)
    await fund(chain, manifest, pool, relayer_key, fan.address, tk=1000, allowance=1000)
    outcomes = []
    async with RpcClient([chain]) as client, httpx.AsyncClient(base_url=review_server, timeout=60) as http:
        for nonce in range(1, 5):  # a few rounds: either side may win each
            _, sent = await app.asgi_client.post(
                "/api/contracts/gift", headers=fan.headers, json=intent(manifest, fan, star.address, GIFT, 5, nonce)
            )
            assert sent.status == 201, sent.text
            intent_id = await pool.fetchval("SELECT max(id) FROM tip_intents")
            manual, summary = await asyncio.gather(
                http.post(f"/api/admin/intents/{intent_id}/approve", headers=admin.headers, json={"note": "race"}),
                approve_pending(job_context(manifest, pool, client)),
            )
            row = await pool.fetchrow("SELECT status, decided_by FROM tip_intents WHERE id = $1", intent_id)
            assert row["status"] == "approved", (manual.text, summary)
            if manual.status_code == 200:  # the admin won: the job decided nothing (or was kept out)
                assert summary in ("approved 0, refused 0", "another approver is running"), summary
                assert row["decided_by"] == admin.id
            else:  # the job won: the admin's request saw a decided intent
                assert manual.status_code == 409 and summary == "approved 1, refused 0", (manual.text, summary)
                assert row["decided_by"] is None
            outcomes.append(manual.status_code)
    assert set(outcomes) <= {200, 409} and len(outcomes) == 4
