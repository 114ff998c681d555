"""The stream lifecycle from signed LiveKit webhooks: go live, viewers join and leave, end; forged,
tampered, replayed and out-of-order deliveries; discovery of the live stream and the past list."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sanic import Sanic

from api.settings import ApiSettings
from tests.fake_livekit import FakeLiveKit
from tests.integration.api.conftest import start_api
from tests.integration.api.payments.conftest import email_user
from tests.integration.api.stream.conftest import KEY, SECRET, call, creator, deliver


async def _live_stream(app: Sanic, pool: asyncpg.Pool, email: str, title: str) -> tuple[dict[str, Any], str]:
    tokens = await creator(app, pool, email)
    made = await call(app, "post", "/api/stream/create", tokens, json={"title": title})
    assert made.status == 201, made.text
    return tokens, made.json["data"]["stream"]["room"]


async def test_forged_or_tampered_webhooks_are_refused_with_nothing_written(
    stream_app: Sanic, pool: asyncpg.Pool, fake_livekit: FakeLiveKit
) -> None:
    _, room = await _live_stream(stream_app, pool, "alice@example.com", "x")
    event = fake_livekit.event("room_started", room)
    assert (await deliver(stream_app, fake_livekit, event, secret="not-the-secret-0123456789abcdef-xyz")).status == 401
    body, token = fake_livekit.signed(event)
    tampered = body.replace(b"room_started", b"room_finished")
    for headers, content in (({}, body), ({"Authorization": "garbage"}, body), ({"Authorization": token}, tampered)):
        _, response = await stream_app.asgi_client.post("/api/webhook/livekit", content=content, headers=headers)
        assert response.status == 401 and response.json["error"]["code"] == "unauthenticated", response.text
    _, response = await stream_app.asgi_client.post(
        "/api/webhook/livekit", content=b"\xff\xfe", headers={"Authorization": token}
    )
    assert response.status in (400, 401) and response.json["success"] is False
    assert await pool.fetchval("SELECT count(*) FROM livekit_events") == 0
    assert await pool.fetchval("SELECT status FROM streams") == "created"


async def test_go_live_viewers_end_with_replays_and_out_of_order_events(
    stream_app: Sanic, pool: asyncpg.Pool, fake_livekit: FakeLiveKit
) -> None:
    alice, room = await _live_stream(stream_app, pool, "alice@example.com", "Sourdough baking")
    bob = await email_user(stream_app, "bob@example.com")
    alice_id, t0 = alice["user"]["id"], int(time.time()) - 600
    await pool.execute("INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2)", bob["user"]["id"], alice_id)

    async def send(kind: str, at: int, **fields: Any) -> dict[str, Any]:
        response = await deliver(stream_app, fake_livekit, fake_livekit.event(kind, room, created_at=at, **fields))
        assert response.status == 200, response.text
        data: dict[str, Any] = response.json["data"]
        return data

    started = fake_livekit.event("room_started", room, created_at=t0)
    assert (await deliver(stream_app, fake_livekit, started)).json["data"]["applied"] is True
    replay = (await deliver(stream_app, fake_livekit, started)).json["data"]
    assert replay == {"event_id": started.id, "applied": False, "reason": "duplicate"}
    status = (await call(stream_app, "get", "/api/stream/status", alice)).json["data"]
    assert status["status"] == "live" and status["viewers"] == 0

    await send("participant_joined", t0 + 1, identity=f"creator:{alice_id}")  # the creator is not a viewer
    await send("participant_joined", t0 + 2, identity="viewer:1")
    joined = fake_livekit.event("participant_joined", room, created_at=t0 + 3, identity="anon:x")
    assert (await deliver(stream_app, fake_livekit, joined)).json["data"]["applied"] is True
    assert (await deliver(stream_app, fake_livekit, joined)).json["data"]["applied"] is False  # counted once
    await send("participant_left", t0 + 9, identity="viewer:7")  # left delivered before its joined
    await send("participant_joined", t0 + 5, identity="viewer:7")
    status = (await call(stream_app, "get", "/api/stream/status", alice)).json["data"]
    assert (status["viewers"], status["peak_viewers"]) == (2, 2)

    live_response = await call(stream_app, "get", "/api/viewer/stream/live")
    assert live_response.status == 200, live_response.text
    live = live_response.json["data"]["items"]
    assert [s["room"] for s in live] == [room] and live[0]["viewers"] == 2
    found = (await call(stream_app, "get", "/api/viewer/stream/search", params={"q": "sourdough"})).json["data"]
    assert [s["room"] for s in found["items"]] == [room]
    following = (await call(stream_app, "get", "/api/viewer/stream/following", bob)).json["data"]["items"]
    assert [s["room"] for s in following] == [room]
    recommended = (await call(stream_app, "get", "/api/viewer/stream/recommended", bob)).json["data"]["items"]
    assert [s["room"] for s in recommended] == [room]
    of_alice = (await call(stream_app, "get", f"/api/viewer/stream/{alice_id}")).json["data"]
    assert of_alice["stream"]["status"] == "live"

    await send("participant_left", t0 + 20, identity="viewer:1")
    assert (await call(stream_app, "get", "/api/stream/status", alice)).json["data"]["viewers"] == 1
    await send("room_finished", t0 + 300)
    await send("room_started", t0 - 60)  # a late, older start: kept as the start time, does not revive
    assert (await call(stream_app, "get", "/api/stream/status", alice)).status == 404  # no active stream
    past = (await call(stream_app, "get", "/api/stream/past", alice)).json["data"]["items"]
    assert len(past) == 1 and past[0]["status"] == "ended"
    assert (past[0]["duration_seconds"], past[0]["peak_viewers"], past[0]["viewers"]) == (360, 2, 0)
    assert (await call(stream_app, "get", "/api/viewer/stream/live")).json["data"]["items"] == []
    assert (await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token", bob)).status == 404
    # the creator can go live again
    assert (await call(stream_app, "post", "/api/stream/create", alice, json={})).status == 201


async def test_ingress_events_find_their_stream(
    stream_app: Sanic, pool: asyncpg.Pool, fake_livekit: FakeLiveKit
) -> None:
    alice, room = await _live_stream(stream_app, pool, "alice@example.com", "x")
    ingress_id = (await call(stream_app, "post", "/api/stream/ingress", alice, json={})).json["data"]["ingress_id"]
    event = fake_livekit.event("ingress_started", ingress_id=ingress_id)
    event.ingress_info.room_name = ""  # found by the ingress id alone
    assert (await deliver(stream_app, fake_livekit, event)).json["data"]["applied"] is True
    assert (await call(stream_app, "get", "/api/stream/status", alice)).json["data"]["status"] == "live"
    ended = fake_livekit.event("ingress_ended", ingress_id=ingress_id)
    assert (await deliver(stream_app, fake_livekit, ended)).json["data"]["applied"] is True
    assert await pool.fetchval("SELECT status FROM streams WHERE room = $1", room) == "ended"
    other = fake_livekit.event("room_started", "not-our-room")
    assert (await deliver(stream_app, fake_livekit, other)).json["data"]["reason"] == "unknown_room"


async def test_the_same_event_delivered_at_once_is_applied_once(
    stream_app: Sanic, settings: ApiSettings, pool: asyncpg.Pool, fake_livekit: FakeLiveKit, tmp_path: Path
) -> None:
    """Six deliveries of one event at once, against a running ``python -m api`` (the in-process test
    client opens the app's resources per request, so concurrent requests there are not one app)."""
    alice, room = await _live_stream(stream_app, pool, "alice@example.com", "x")
    assert (await deliver(stream_app, fake_livekit, fake_livekit.event("room_started", room))).status == 200
    joined = fake_livekit.event("participant_joined", room, identity="viewer:42")
    body, token = fake_livekit.signed(joined)
    extra = {"API_LIVEKIT_URL": fake_livekit.url, "API_LIVEKIT_API_KEY": KEY, "API_LIVEKIT_API_SECRET": SECRET}
    process, url = start_api(settings, extra, tmp_path / "api.log")
    try:
        headers = {"Authorization": token, "Content-Type": "application/webhook+json"}
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            responses = await asyncio.gather(
                *(client.post("/api/webhook/livekit", content=body, headers=headers) for _ in range(6))
            )
    finally:
        process.terminate()
        process.wait(15)
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert sorted(r.json()["data"]["applied"] for r in responses) == [False] * 5 + [True]
    assert await pool.fetchval("SELECT count(*) FROM livekit_events WHERE event_id = $1", joined.id) == 1
    status = (await call(stream_app, "get", "/api/stream/status", alice)).json["data"]
    assert (status["viewers"], status["peak_viewers"]) == (1, 1)
