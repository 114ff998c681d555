"""Expired refresh tokens and OTPs are deleted after their grace period; one process at a time."""

from __future__ import annotations

import uuid

import asyncpg

from api.cleanup import cleanup_once
from api.store import ApiStore


async def _user(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("INSERT INTO users (email) VALUES ($1) RETURNING id", f"{uuid.uuid4().hex}@x.org"))


async def _seed(pool: asyncpg.Pool, user: int) -> None:
    for label, expires in (("old", "-2 days"), ("recent", "-1 hour"), ("live", "+1 day")):
        await pool.execute(
            "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
            "VALUES ($1, $2, $3, now() + $4::text::interval)",
            user, uuid.uuid4(), f"{label}-{uuid.uuid4().hex}", expires,
        )  # fmt: skip
        await pool.execute(
            "INSERT INTO email_otps (user_id, purpose, code_hash, expires_at) "
            "VALUES ($1, 'verify_email', $2, now() + $3::text::interval)",
            user, label, expires,
        )  # fmt: skip


async def test_expired_credentials_are_deleted_after_the_grace_period(pool: asyncpg.Pool) -> None:
    await _seed(pool, await _user(pool))
    store = ApiStore(pool, 31337)
    assert await cleanup_once(store, grace_s=86400) == {"refresh_tokens": 1, "otps": 1}
    left = await pool.fetch("SELECT code_hash FROM email_otps ORDER BY id")
    assert [r["code_hash"] for r in left] == ["recent", "live"]
    tokens = await pool.fetch("SELECT token_hash FROM refresh_tokens")
    assert sorted(r["token_hash"].split("-")[0] for r in tokens) == ["live", "recent"]
    assert await cleanup_once(store, grace_s=0) == {"refresh_tokens": 1, "otps": 1}
    assert await cleanup_once(store, grace_s=0) == {"refresh_tokens": 0, "otps": 0}
    assert await pool.fetchval("SELECT count(*) FROM email_otps") == 1


async def test_one_process_cleans_at_a_time(pool: asyncpg.Pool) -> None:
    await _seed(pool, await _user(pool))
    store = ApiStore(pool, 31337)
    async with pool.acquire() as other, other.transaction():
        assert await other.fetchval(store.q.try_cleanup_lock)  # another process is cleaning
        assert await cleanup_once(store, grace_s=0) is None
        assert await pool.fetchval("SELECT count(*) FROM refresh_tokens") == 3
    assert await cleanup_once(store, grace_s=0) == {"refresh_tokens": 2, "otps": 2}
