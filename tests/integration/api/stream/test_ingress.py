"""RTMP/WHIP ingresses through the SDK against the fake LiveKit: created, key shown once and stored hashed,
deleted at LiveKit."""

from __future__ import annotations

import hashlib

import asyncpg
from sanic import Sanic

from tests.fake_livekit import FakeLiveKit
from tests.integration.api.stream.conftest import call, creator


async def test_ingress_round_trip(stream_app: Sanic, pool: asyncpg.Pool, fake_livekit: FakeLiveKit) -> None:
    alice = await creator(stream_app, pool, "alice@example.com")
    assert (await call(stream_app, "post", "/api/stream/ingress", alice, json={"kind": "rtmp"})).status == 404
    room = (await call(stream_app, "post", "/api/stream/create", alice, json={})).json["data"]["stream"]["room"]

    made = await call(stream_app, "post", "/api/stream/ingress", alice, json={"kind": "rtmp"})
    assert made.status == 201, made.text
    data = made.json["data"]
    at_livekit = fake_livekit.ingresses[data["ingress_id"]]
    assert (at_livekit.room_name, at_livekit.stream_key, at_livekit.url) == (room, data["stream_key"], data["url"])
    assert at_livekit.participant_identity == f"creator:{alice['user']['id']}"
    assert ("Ingress", "CreateIngress", "application/protobuf") in fake_livekit.calls

    # the key is not stored nor shown again: only its SHA-256
    stored = await pool.fetchval("SELECT key_sha256 FROM stream_ingresses WHERE ingress_id = $1", data["ingress_id"])
    assert stored == hashlib.sha256(data["stream_key"].encode()).hexdigest()
    credentials = await call(stream_app, "get", "/api/stream/credentials", alice)
    assert credentials.json["data"]["ingress"]["key_sha256"] == stored
    assert data["stream_key"] not in credentials.text

    again = await call(stream_app, "post", "/api/stream/ingress", alice, json={"kind": "whip"})
    assert again.status == 409 and again.json["error"]["details"]["reason"] == "ingress_exists"

    deleted = await call(stream_app, "delete", "/api/stream/ingress", alice)
    assert deleted.status == 200 and deleted.json["data"] == {"ingress_id": data["ingress_id"], "deleted": True}
    assert data["ingress_id"] not in fake_livekit.ingresses
    assert (await call(stream_app, "delete", "/api/stream/ingress", alice)).status == 404
    assert (await call(stream_app, "get", "/api/stream/credentials", alice)).json["data"]["ingress"] is None

    whip = await call(stream_app, "post", "/api/stream/ingress", alice, json={"kind": "whip"})
    assert whip.status == 201 and whip.json["data"]["kind"] == "whip"
    assert fake_livekit.ingresses[whip.json["data"]["ingress_id"]].input_type == 1  # WHIP_INPUT
    assert (await call(stream_app, "post", "/api/stream/ingress", alice, json={"kind": "srt"})).status == 400
