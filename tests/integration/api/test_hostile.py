"""Hostile input over every operation of the served spec (bench/hostile.py): no 5xx, every error
is the JSON envelope, and a rejected request writes nothing to any table."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from api.settings import ApiSettings
from bench import hostile
from tests.integration.api.conftest import start_api
from tests.processes import stop


async def test_hostile_input_is_rejected_cleanly_and_writes_nothing(settings: ApiSettings, tmp_path: Path) -> None:
    process, url = start_api(settings, {"API_OUTBOX_DIR": str(tmp_path / "outbox")}, tmp_path / "api.log")
    try:
        credentials = {"email": "hostile@example.com", "password": "hostile-password"}
        async with httpx.AsyncClient() as client:
            await client.post(f"{url}/api/auth/signup", json=credentials)
            conn = await asyncpg.connect(settings.database_url)
            await conn.execute("UPDATE users SET role = 'admin' WHERE email = $1", credentials["email"])
            await conn.close()
            token = (await client.post(f"{url}/api/auth/login", json=credentials)).json()["data"]["access_token"]
        report = await hostile.run(url, settings.database_url, token, max_body=settings.max_body_bytes)
        assert report.requests > 100
        assert report.rejected > report.requests // 2
        assert not report.failures, "\n".join(report.failures[:30])
        assert "Traceback" not in (tmp_path / "api.log").read_text(errors="replace")
    finally:
        stop(process)
