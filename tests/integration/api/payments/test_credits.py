"""The credits ledger: 200 concurrent spends against 100 credits, idempotency keys, reserve → commit /
release, expired holds, history and usage pages, and the database refusing unbalanced or negative books."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from sanic import Sanic

from api.credits.service import CreditLedger
from api.settings import ApiSettings
from tests.integration.api.payments.conftest import PASSWORD, bearer, email_user, start_workers
from tests.processes import stop


async def grant(pool: asyncpg.Pool, user_id: int, amount: int) -> None:
    ledger = CreditLedger(pool)
    async with pool.acquire() as conn, conn.transaction():
        await ledger.grant(conn, user_id, amount, key=f"test-grant:{uuid.uuid4()}")


async def books(pool: asyncpg.Pool, user_id: int) -> dict[str, int]:
    """The ledger's invariants, read from Postgres."""
    return {
        "sum_of_all_entries": int(await pool.fetchval("SELECT coalesce(sum(amount), 0) FROM credit_entries")),
        "unbalanced_transactions": int(
            await pool.fetchval(
                "SELECT count(*) FROM (SELECT transaction_id FROM credit_entries GROUP BY 1 HAVING sum(amount) <> 0) t"
            )
        ),
        "available": int(
            await pool.fetchval(
                "SELECT balance FROM credit_accounts WHERE user_id = $1 AND kind = 'available'", user_id
            )
        ),
        "available_from_entries": int(
            await pool.fetchval(
                "SELECT coalesce(sum(e.amount), 0) FROM credit_entries e JOIN credit_accounts a ON a.id = e.account_id "
                "WHERE a.user_id = $1 AND a.kind = 'available'",
                user_id,
            )
        ),
    }


async def post(app: Sanic, tokens: dict, path: str, body: dict) -> tuple[int, dict]:
    _, response = await app.asgi_client.post(f"/api/credits/{path}", json=body, headers=bearer(tokens))
    return response.status, response.json


async def test_200_concurrent_spends_of_1_against_100(
    settings: ApiSettings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Through a real API with 2 worker processes: exactly 100 spends succeed, the books balance."""
    process, url = start_workers(settings, {"API_WORKERS": "2", "API_OUTBOX_DIR": str(tmp_path)}, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=200)) as client:
            signup = await client.post("/api/auth/signup", json={"email": "racer@example.com", "password": PASSWORD})
            tokens = signup.json()["data"]
            user_id = tokens["user"]["id"]
            await grant(pool, user_id, 100)

            async def spend(i: int) -> httpx.Response:
                body = {"feature": "chat.flash", "idempotency_key": f"race-{i:04d}"}
                return await client.post("/api/credits/spend", json=body, headers=bearer(tokens))

            started = time.perf_counter()
            results = await asyncio.gather(*(spend(i) for i in range(200)))
            elapsed = time.perf_counter() - started
            statuses = [r.status_code for r in results]
            assert statuses.count(200) == 100 and statuses.count(409) == 100, statuses
            assert {r.json()["error"]["code"] for r in results if r.status_code == 409} == {"insufficient_credits"}
            balance = await client.get("/api/credits/balance", headers=bearer(tokens))
            assert balance.json()["data"] == {"available": 0, "held": 0}
    finally:
        stop(process)
    assert await books(pool, user_id) == {
        "sum_of_all_entries": 0, "unbalanced_transactions": 0, "available": 0, "available_from_entries": 0,
    }  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM credit_usage WHERE user_id = $1", user_id) == 100
    print(f"200 concurrent spends through 2 API workers: {elapsed:.2f} s")  # noqa: T201 (the figure, with -s)


async def test_two_api_processes_worth_of_pools_race_on_one_balance(db_url: str, pool: asyncpg.Pool) -> None:
    """Two independent pools (as two API workers would have) spending the same balance: no oversell."""
    user_id = await pool.fetchval("INSERT INTO users (email) VALUES ('two@example.com') RETURNING id")
    await grant(pool, user_id, 50)
    from core.db import create_pool  # noqa: PLC0415

    pools = [await create_pool(db_url, max_size=8) for _ in range(2)]
    try:
        ledgers = [CreditLedger(p) for p in pools]

        async def spend(i: int) -> bool:
            try:
                await ledgers[i % 2].spend(user_id, 1, feature="x", reference=None, key=f"two-{i}")
            except Exception as exc:  # noqa: BLE001 (counted below)
                assert type(exc).__name__ == "InsufficientCredits"
                return False
            return True

        outcomes = await asyncio.gather(*(spend(i) for i in range(120)))
    finally:
        for p in pools:
            await p.close()
    assert outcomes.count(True) == 50
    books_now = await books(pool, user_id)
    assert books_now["available"] == books_now["available_from_entries"] == 0
    assert books_now["sum_of_all_entries"] == 0 and books_now["unbalanced_transactions"] == 0


async def test_idempotency_keys(pay_app: Sanic, pool: asyncpg.Pool) -> None:
    tokens = await email_user(pay_app, "idem@example.com")
    await grant(pool, tokens["user"]["id"], 10)
    body = {"feature": "chat.flash", "quantity": 3, "reference": "job-1", "idempotency_key": "spend-key-0001"}
    first_status, first = await post(pay_app, tokens, "spend", body)
    again_status, again = await post(pay_app, tokens, "spend", body)
    assert first_status == again_status == 200
    assert first["data"]["replayed"] is False and again["data"]["replayed"] is True
    assert {**again["data"], "replayed": False} == first["data"]
    assert first["data"]["balance"] == {"available": 7, "held": 0}
    reused_status, reused = await post(pay_app, tokens, "spend", {**body, "quantity": 4})
    assert reused_status == 409 and reused["error"]["code"] == "conflict"
    _, balance = await pay_app.asgi_client.get("/api/credits/balance", headers=bearer(tokens))
    assert balance.json["data"]["available"] == 7

    # Keys are per user: another user may use the same key.
    other = await email_user(pay_app, "idem2@example.com")
    await grant(pool, other["user"]["id"], 5)
    status, theirs = await post(pay_app, other, "spend", body)
    assert status == 200 and theirs["data"]["replayed"] is False and theirs["data"]["balance"]["available"] == 2


async def test_reserve_commit_release_and_expiry(pay_app: Sanic, pool: asyncpg.Pool) -> None:
    tokens = await email_user(pay_app, "jobs@example.com")
    user_id = tokens["user"]["id"]
    await grant(pool, user_id, 100)

    job = {"feature": "slides.generate", "quantity": 2, "reference": "task-abc", "idempotency_key": "reserve-0001"}
    status, held = await post(pay_app, tokens, "reserve", job)
    assert status == 200 and held["data"]["balance"] == {"available": 60, "held": 40}
    usage_id = held["data"]["usage"]["id"]
    assert held["data"]["usage"]["status"] == "held"
    status, short = await post(
        pay_app, tokens, "spend", {"feature": "chat.flash", "quantity": 61, "idempotency_key": "spend-too-much"}
    )
    assert status == 409 and short["error"]["code"] == "insufficient_credits"

    # The job used 1 of the 2 decks held (20 of 40 credits); 20 go back.
    status, done = await post(
        pay_app, tokens, "commit", {"usage_id": usage_id, "quantity": 1, "idempotency_key": "commit-0001"}
    )
    assert status == 200 and done["data"]["balance"] == {"available": 80, "held": 0}
    assert done["data"]["usage"]["status"] == "committed" and done["data"]["usage"]["charged"] == 20
    status, replay = await post(
        pay_app, tokens, "commit", {"usage_id": usage_id, "quantity": 1, "idempotency_key": "commit-0001"}
    )
    assert status == 200 and replay["data"]["replayed"] is True and replay["data"]["balance"]["available"] == 80
    status, _ = await post(pay_app, tokens, "release", {"usage_id": usage_id, "idempotency_key": "release-0001"})
    assert status == 409  # already committed

    status, job = await post(
        pay_app, tokens, "reserve", {"feature": "chat.pro", "quantity": 6, "idempotency_key": "reserve-0002"}
    )
    status, released = await post(
        pay_app, tokens, "release", {"usage_id": job["data"]["usage"]["id"], "idempotency_key": "release-0002"}
    )
    assert status == 200 and released["data"]["balance"] == {"available": 80, "held": 0}
    status, over = await post(
        pay_app, tokens, "reserve", {"feature": "chat.pro", "quantity": 2, "idempotency_key": "reserve-0003"}
    )
    too_much = {"usage_id": over["data"]["usage"]["id"], "quantity": 3, "idempotency_key": "commit-0003"}
    status, _ = await post(pay_app, tokens, "commit", too_much)
    assert status == 409
    _, missing = await pay_app.asgi_client.post(
        "/api/credits/commit", json={"usage_id": 999999, "idempotency_key": "commit-0404"}, headers=bearer(tokens)
    )
    assert missing.status == 404

    # A hold whose job never called back is released by the user's next mutation.
    await pool.execute("UPDATE credit_usage SET expires_at = now() - interval '1 second' WHERE id = $1",
                       over["data"]["usage"]["id"])  # fmt: skip
    status, after = await post(pay_app, tokens, "spend", {"feature": "chat.flash", "idempotency_key": "spend-after"})
    assert status == 200 and after["data"]["balance"] == {"available": 79, "held": 0}
    assert (
        await pool.fetchval("SELECT status FROM credit_usage WHERE id = $1", over["data"]["usage"]["id"]) == "released"
    )

    # History (newest first, paginated) and the usage log.
    seen, cursor = [], None
    for _ in range(10):
        path = "/api/credits/history?limit=3" + (f"&cursor={cursor}" if cursor else "")
        _, response = await pay_app.asgi_client.get(path, headers=bearer(tokens))
        assert response.status == 200, response.text
        seen += response.json["data"]["items"]
        cursor = response.json["data"]["next_cursor"]
        if cursor is None:
            break
    kinds = [t["kind"] for t in seen]
    assert kinds == ["spend", "release", "reserve", "release", "reserve", "commit", "reserve", "grant"]
    assert sum(t["available_change"] for t in seen) == 79 and sum(t["held_change"] for t in seen) == 0
    _, usage = await pay_app.asgi_client.get("/api/credits/usage", headers=bearer(tokens))
    assert [u["status"] for u in usage.json["data"]["items"]] == ["committed", "released", "released", "committed"]
    assert (await books(pool, user_id))["sum_of_all_entries"] == 0


async def test_the_database_refuses_unbalanced_or_negative_books(pool: asyncpg.Pool) -> None:
    user_id = await pool.fetchval("INSERT INTO users (email) VALUES ('db@example.com') RETURNING id")
    await grant(pool, user_id, 5)
    account = await pool.fetchval("SELECT id FROM credit_accounts WHERE user_id = $1 AND kind = 'available'", user_id)
    tx = await pool.fetchval("SELECT id FROM credit_transactions WHERE user_id = $1", user_id)
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO credit_entries (transaction_id, account_id, amount) VALUES ($1, $2, 1)", tx, account
            )
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE credit_accounts SET balance = balance - 6 WHERE id = $1", account)
    with pytest.raises(asyncpg.CheckViolationError, match="append-only"):
        await pool.execute("DELETE FROM credit_entries WHERE transaction_id = $1", tx)


async def test_admin_grant_is_in_the_ledger_and_usage_sums_per_feature(pay_app: Sanic, pool: asyncpg.Pool) -> None:
    from tests.integration.api.payments.conftest import admin_user  # noqa: PLC0415

    tokens = await email_user(pay_app, "granted@example.com")
    user_id = tokens["user"]["id"]
    admin = await admin_user(pay_app, pool)
    body = {"user_id": user_id, "amount": 50, "reason": "beta tester", "idempotency_key": "grant-0001"}
    _, refused = await pay_app.asgi_client.post("/api/admin/credits/grant", json=body, headers=bearer(tokens))
    assert refused.status == 403
    _, granted = await pay_app.asgi_client.post("/api/admin/credits/grant", json=body, headers=bearer(admin))
    assert granted.status == 200 and granted.json["data"]["balance"]["available"] == 50
    _, again = await pay_app.asgi_client.post("/api/admin/credits/grant", json=body, headers=bearer(admin))
    assert again.json["data"]["replayed"] is True
    _, nobody = await pay_app.asgi_client.post(
        "/api/admin/credits/grant", json={**body, "user_id": 10**9}, headers=bearer(admin)
    )
    assert nobody.status == 404
    memo = await pool.fetchval("SELECT memo FROM credit_transactions WHERE user_id = $1 AND kind = 'grant'", user_id)
    assert memo == f"admin {admin['user']['id']}: beta tester"
    for key, feature, quantity in (
        ("use-0001", "chat.flash", 3),
        ("use-0002", "chat.flash", 1),
        ("use-0003", "chat.pro", 2),
    ):
        status, _ = await post(
            pay_app, tokens, "spend", {"feature": feature, "quantity": quantity, "idempotency_key": key}
        )
        assert status == 200
    _, summary = await pay_app.asgi_client.get("/api/credits/usage/features", headers=bearer(tokens))
    assert summary.json["data"]["items"] == [
        {"feature": "chat.flash", "uses": 2, "charged": 4, "held": 0},
        {"feature": "chat.pro", "uses": 1, "charged": 10, "held": 0},
    ]
    _, prices = await pay_app.asgi_client.get("/api/credits/prices")
    assert {"feature": "chat.pro", "unit_price": 5} in prices.json["data"]["features"]
    assert (await books(pool, user_id))["sum_of_all_entries"] == 0
