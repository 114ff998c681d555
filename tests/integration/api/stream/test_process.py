"""A real ``python -m api`` configured by environment, the fake LiveKit sending it signed webhooks over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from api.settings import ApiSettings
from tests.fake_livekit import FakeLiveKit
from tests.integration.api.conftest import start_api
from tests.integration.api.payments.conftest import PASSWORD
from tests.integration.api.stream.conftest import KEY, SECRET, grants
from tests.processes import stop


async def test_go_live_through_a_real_server(
    settings: ApiSettings, pool: asyncpg.Pool, fake_livekit: FakeLiveKit, tmp_path: Path
) -> None:
    env = {"API_LIVEKIT_URL": fake_livekit.url, "API_LIVEKIT_API_KEY": KEY, "API_LIVEKIT_API_SECRET": SECRET,
           "API_LIVEKIT_PUBLIC_URL": "wss://live.example", "API_OUTBOX_DIR": str(tmp_path / "outbox")}  # fmt: skip
    process, url = start_api(settings, env, tmp_path / "api.log")
    fake_livekit.webhook_url = f"{url}/api/webhook/livekit"
    try:
        async with aiohttp.ClientSession(base_url=url) as http:

            async def call(method: str, path: str, token: str = "", **kwargs: Any) -> tuple[int, Any]:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                async with http.request(method, path, headers=headers, **kwargs) as response:
                    return response.status, await response.json()

            credentials = {"email": "alice@example.com", "password": PASSWORD}
            status, body = await call("POST", "/api/auth/signup", json=credentials)
            assert status == 201, body
            user_id = body["data"]["user"]["id"]
            await pool.execute("UPDATE users SET role = 'creator' WHERE id = $1", user_id)
            await pool.execute("INSERT INTO creator_profiles (user_id, display_name) VALUES ($1, 'Alice')", user_id)
            token = (await call("POST", "/api/auth/login", json=credentials))[1]["data"]["access_token"]

            status, body = await call("POST", "/api/stream/create", token, json={"title": "Night sky"})
            assert status == 201, body
            room = body["data"]["stream"]["room"]
            status, body = await call("GET", "/api/stream/creator-token", token)
            assert body["data"]["url"] == "wss://live.example" and grants(body["data"]["token"]).can_publish

            status, body = await fake_livekit.send(fake_livekit.event("room_started", room))
            assert status == 200 and body["data"]["applied"] is True, body
            status, body = await fake_livekit.send(fake_livekit.event("participant_joined", room, identity="anon:a"))
            assert status == 200 and body["data"]["applied"] is True, body
            assert (await call("GET", "/api/stream/status", token))[1]["data"]["viewers"] == 1
            forged = FakeLiveKit(KEY, "another-secret-of-at-least-32-bytes!!", fake_livekit.webhook_url)
            status, body = await forged.send(forged.event("room_finished", room))
            assert status == 401 and body["error"]["code"] == "unauthenticated"
            assert (await call("GET", "/api/stream/status", token))[1]["data"]["status"] == "live"
    finally:
        stop(process)  # SIGTERM, grace, SIGKILL, always reaped
