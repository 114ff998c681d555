"""LiveKit tokens through the public API: the creator publishes, viewers subscribe, chat follows the
stream's settings, anonymous viewers only where allowed, blocked viewers and non-creators refused."""

from __future__ import annotations

import asyncpg
from sanic import Sanic

from tests.fake_livekit import FakeLiveKit
from tests.integration.api.payments.conftest import email_user
from tests.integration.api.stream.conftest import call, creator, grants

CHAT_OFF = {"enabled": False, "followers_only": False, "slow_mode_seconds": 0, "allow_anonymous": True}


async def test_creator_publishes_viewers_subscribe_and_chat_follows_settings(
    stream_app: Sanic, pool: asyncpg.Pool, fake_livekit: FakeLiveKit
) -> None:
    alice = await creator(stream_app, pool, "alice@example.com", "Alice")
    made = await call(stream_app, "post", "/api/stream/create", alice, json={"title": "Cooking live"})
    assert made.status == 201, made.text
    room = made.json["data"]["stream"]["room"]
    assert room in fake_livekit.rooms  # created at LiveKit through the SDK
    assert ("RoomService", "CreateRoom", "application/protobuf") in fake_livekit.calls
    again = await call(stream_app, "post", "/api/stream/create", alice, json={})
    assert again.status == 409 and again.json["error"]["details"]["stream_id"] == made.json["data"]["stream"]["id"]

    mine = (await call(stream_app, "get", "/api/stream/creator-token", alice)).json["data"]
    video = grants(mine["token"])
    assert (video.room, video.room_join, video.can_publish, video.can_subscribe) == (room, True, True, True)
    assert video.can_publish_data is True

    alice_id = alice["user"]["id"]
    bob = await email_user(stream_app, "bob@example.com")
    watch = await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token", bob)
    assert watch.status == 200, watch.text
    video = grants(watch.json["data"]["token"])
    assert (video.room, video.can_publish, video.can_subscribe, video.can_publish_data) == (room, False, True, True)

    # a viewer is not a creator: no publish token, no creator routes
    for method, path in (("get", "/api/stream/creator-token"), ("post", "/api/stream/create"),
                         ("get", "/api/stream/info"), ("post", "/api/stream/ingress")):  # fmt: skip
        refused = await call(stream_app, method, path, bob)
        assert refused.status == 403 and refused.json["success"] is False, (path, refused.text)

    # chat off: the viewer's token cannot publish data
    assert (await call(stream_app, "put", "/api/stream/chat-settings", alice, json=CHAT_OFF)).status == 200
    video = grants((await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token", bob)).json["data"]["token"])
    assert video.can_publish_data is False and video.can_subscribe is True

    # followers only: bob gets chat once he follows
    followers = {**CHAT_OFF, "enabled": True, "followers_only": True}
    assert (await call(stream_app, "put", "/api/stream/chat-settings", alice, json=followers)).status == 200
    token = (await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token", bob)).json["data"]
    assert token["can_chat"] is False and grants(token["token"]).can_publish_data is False
    await pool.execute("INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2)", bob["user"]["id"], alice_id)
    token = (await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token", bob)).json["data"]
    assert token["can_chat"] is True and grants(token["token"]).can_publish_data is True

    # anonymous: subscribe only while allowed, 401 once the creator turns it off
    anon = await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token")
    assert anon.status == 200 and anon.json["data"]["identity"].startswith("anon:")
    video = grants(anon.json["data"]["token"])
    assert (video.can_publish, video.can_publish_data, video.can_subscribe) == (False, False, True)
    closed = {**followers, "allow_anonymous": False}
    assert (await call(stream_app, "put", "/api/stream/chat-settings", alice, json=closed)).status == 200
    anon = await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token")
    assert anon.status == 401 and anon.json["error"]["code"] == "unauthenticated"

    # a viewer the creator blocked gets no token
    await pool.execute("INSERT INTO user_blocks (blocker_id, blocked_id) VALUES ($1, $2)", alice_id, bob["user"]["id"])
    blocked = await call(stream_app, "post", f"/api/viewer/stream/{alice_id}/token", bob)
    assert blocked.status == 403 and blocked.json["error"]["details"]["reason"] == "blocked"


async def test_bad_input_and_unknown_creators(stream_app: Sanic, pool: asyncpg.Pool) -> None:
    alice = await creator(stream_app, pool, "alice@example.com")
    for body in ({"title": 5}, {"thumbnail_url": "javascript:alert(1)"}, {"title": "x" * 141}, {"extra": 1}):
        response = await call(stream_app, "post", "/api/stream/create", alice, json=body)
        assert response.status == 400 and response.json["success"] is False, body
    bad = {"enabled": True, "followers_only": False, "slow_mode_seconds": "5", "allow_anonymous": True}
    assert (await call(stream_app, "put", "/api/stream/chat-settings", alice, json=bad)).status == 400
    assert (await call(stream_app, "get", "/api/stream/info", alice)).status == 404  # no stream yet
    assert (await call(stream_app, "get", "/api/viewer/stream/not-a-user")).status == 400
    assert (await call(stream_app, "get", "/api/viewer/stream/999999")).status == 404
    assert (await call(stream_app, "post", "/api/viewer/stream/999999/token")).status == 404


async def test_streaming_answers_503_without_livekit(app: Sanic, pool: asyncpg.Pool) -> None:
    alice = await creator(app, pool, "alice@example.com")
    response = await call(app, "post", "/api/stream/create", alice, json={})
    assert response.status == 503 and response.json["success"] is False
    assert await pool.fetchval("SELECT count(*) FROM streams") == 0
