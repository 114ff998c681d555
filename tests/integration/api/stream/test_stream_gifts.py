"""Gifts on stream, through the public API and LiveKit webhooks: go live → viewers join → a gift is
decided at once by the tip policy and reaches the stream's SSE channel (of a running ``python -m api``)
→ end; refused gifts (blocked sender, no allowance, over the daily cap) never appear; a gift the chain
rejects at settlement is retracted on the channel; the gifts-sent / gifts-received lists."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sanic import Sanic

from api.settings import ApiSettings
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from relayer.jobs.intents import settle_approved
from tests.fake_livekit import FakeLiveKit
from tests.fakes import FakeSmtpServer
from tests.integration.api.chain import index
from tests.integration.api.conftest import make_app, start_api
from tests.integration.api.stream.conftest import KEY, SECRET, deliver, livekit_settings
from tests.integration.api.tipping import Person, approve_router, creator, fund, intent, job_context, person
from tests.integration.helpers import make_relayer, relay_all
from tests.processes import stop

GIFT = 1
PRICE = 10  # the test's catalog gift, in Coin base units


async def _read_sse(url: str, events: list[dict[str, Any]]) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=120.0)) as client,
        client.stream("GET", url) as response,
    ):
        assert response.status_code == 200
        current: dict[str, Any] = {}
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line.startswith("id: "):
                current["id"] = line[4:]
            elif line == "" and current:
                events.append(current["data"])
                current = {}


async def _until(events: list[dict[str, Any]], predicate: Any, within: float = 30.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        for event in events:
            if predicate(event):
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"no such event in {events}")


async def _gift(app: Sanic, fan: Person, stream_id: int, body: dict[str, Any], gift: str = "pebble") -> Any:
    _, response = await app.asgi_client.post(
        "/api/payment/gift", headers=fan.headers, json={"stream_id": stream_id, "gift": gift, "intent": body}
    )
    return response


async def test_gifts_on_a_live_stream_reach_its_channel_and_refused_ones_never_do(
    settings: ApiSettings, fake_livekit: FakeLiveKit, smtp: FakeSmtpServer, chain: str, manifest: Manifest,
    pool: asyncpg.Pool, relayer_key: str, tmp_path: Path,
) -> None:  # fmt: skip
    configured = livekit_settings(settings, fake_livekit).model_copy(update={"tips_daily_max_gift_amount": 3 * PRICE})
    app = make_app(configured, smtp)
    env = {"API_LIVEKIT_URL": fake_livekit.url, "API_LIVEKIT_API_KEY": KEY, "API_LIVEKIT_API_SECRET": SECRET,
           "API_OUTBOX_DIR": str(tmp_path / "outbox"), "API_GIFT_SWEEP_INTERVAL": "0.2"}  # fmt: skip
    # The server boots (slowly on a loaded machine) while the test sets up.
    booting = asyncio.create_task(asyncio.to_thread(start_api, configured, env, tmp_path / "api.log", 300))
    try:
        await _scenario(app, booting, chain, manifest, pool, relayer_key, fake_livekit)
    finally:
        process, _ = await booting
        stop(process)  # SIGTERM, grace, SIGKILL, always reaped


async def _scenario(
    app: Sanic, booting: Any, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str,
    fake_livekit: FakeLiveKit,
) -> None:  # fmt: skip
    admin = await person(app, pool, role="admin")
    star = await creator(app, pool, admin)
    fan, blocked_fan, no_allowance, greedy = [await person(app, pool) for _ in range(4)]
    for who in (fan, blocked_fan, greedy):
        await fund(chain, manifest, pool, relayer_key, who.address, tk=100, allowance=100)
    await fund(chain, manifest, pool, relayer_key, no_allowance.address, tk=100)
    _, put = await app.asgi_client.put("/api/admin/gifts/pebble", headers=admin.headers,
                                       json={"name": "Pebble", "price": str(PRICE)})  # fmt: skip
    assert put.status == 200, put.text
    _, blocked = await app.asgi_client.post(f"/api/creators/{blocked_fan.id}/block", headers=star.headers)
    assert blocked.status == 200, blocked.text

    # Go live; viewers join (webhooks).
    _, made = await app.asgi_client.post("/api/stream/create", headers=star.headers, json={"title": "Live art"})
    assert made.status == 201, made.text
    stream_id, room = made.json["data"]["stream"]["id"], made.json["data"]["stream"]["room"]
    early = intent(manifest, fan, star.address, GIFT, PRICE, 1)
    not_live = await _gift(app, fan, stream_id, early)
    assert not_live.status == 409 and not_live.json["error"]["code"] == "stream_not_live", not_live.text
    t0 = int(time.time()) - 60
    for kind, at, identity in (("room_started", t0, ""), ("participant_joined", t0 + 1, f"viewer:{fan.id}"),
                               ("participant_joined", t0 + 2, "anon:a")):  # fmt: skip
        response = await deliver(app, fake_livekit, fake_livekit.event(kind, room, created_at=at, identity=identity))
        assert response.status == 200 and response.json["data"]["applied"] is True, response.text

    _, url = await booting
    channel: list[dict[str, Any]] = []
    elsewhere: list[dict[str, Any]] = []
    readers = [
        asyncio.create_task(_read_sse(f"{url}/api/feed/sse?cursor=0-0&stream={stream_id}", channel)),
        asyncio.create_task(_read_sse(f"{url}/api/feed/sse?cursor=0-0&stream={stream_id + 1000}", elsewhere)),
    ]
    try:
        # Hostile and wrong gifts: 4xx, nothing stored.
        wrong_amount = await _gift(app, fan, stream_id, intent(manifest, fan, star.address, GIFT, PRICE + 1, 2))
        assert wrong_amount.status == 400 and wrong_amount.json["error"]["details"]["reason"] == "wrong_amount"
        assert (await _gift(app, fan, stream_id, early, gift="no-such")).status == 404
        assert (await _gift(app, fan, 2**40, early)).status == 404
        not_creator = await _gift(app, fan, stream_id, intent(manifest, fan, greedy.address, GIFT, PRICE, 3))
        assert not_creator.status == 400, not_creator.text
        _, garbage = await app.asgi_client.post("/api/payment/gift", headers=fan.headers, json={"stream_id": "x"})
        assert garbage.status == 400

        # An accepted gift: approved at once, on the stream's channel, not on another stream's.
        sent = await _gift(app, fan, stream_id, early)
        assert sent.status == 201, sent.text
        digest = sent.json["data"]["intent"]["digest"]
        assert sent.json["data"]["intent"]["status"] == "approved"
        seen = await _until(channel, lambda e: e["type"] == "gift" and e["digest"] == digest)
        assert (seen["stream_id"], seen["gift"], seen["amount"], seen["from"]) == (
            stream_id, "pebble", str(PRICE), fan.address.lower()
        )  # fmt: skip

        # Refused at once with the reason: never on the channel.
        refused = {
            "blocked": await _gift(app, blocked_fan, stream_id, intent(manifest, blocked_fan, star.address, GIFT,
                                                                        PRICE, 1)),
            "insufficient_allowance": await _gift(app, no_allowance, stream_id,
                                                  intent(manifest, no_allowance, star.address, GIFT, PRICE, 1)),
        }  # fmt: skip
        for n in range(1, 4):  # the daily cap is 3 gifts' worth: the fourth is over it
            ok = await _gift(app, greedy, stream_id, intent(manifest, greedy, star.address, GIFT, PRICE, n))
            assert ok.status == 201, ok.text
        refused["daily_cap"] = await _gift(app, greedy, stream_id, intent(manifest, greedy, star.address, GIFT,
                                                                         PRICE, 4))  # fmt: skip
        refused_digests = set()
        for reason, response in refused.items():
            assert response.status == 409, response.text
            error = response.json["error"]
            assert (error["code"], error["details"]["reason"]) == ("gift_refused", reason)
            refused_digests.add(error["details"]["digest"])
        await _until(channel, lambda e: e["type"] == "gift" and e["from"] == greedy.address.lower()
                     and len([x for x in channel if x["type"] == "gift"]) == 4)  # fmt: skip
        assert not {e.get("digest") for e in channel} & refused_digests
        assert [e for e in elsewhere if e["type"].startswith("gift")] == []

        # The fan revokes the allowance before the batch: the chain rejects the gift, the channel retracts it.
        approve_router(chain, manifest, fan.address, 0)
        async with RpcClient([chain]) as client:
            ctx = job_context(manifest, pool, client)
            assert (await settle_approved(ctx)).startswith("4 intents in 1 settle requests")
            relayer, store = make_relayer(manifest, pool, client, relayer_key)
            await relayer.prepare()
            await relay_all(relayer, store)
        await index(manifest, pool, chain)
        retracted = await _until(channel, lambda e: e["type"] == "gift_retracted")
        assert (retracted["digest"], retracted["reason"], retracted["stream_id"]) == (
            digest, "insufficient_allowance", stream_id
        )  # fmt: skip
        await asyncio.sleep(1)  # several sweeps: retracted once
        assert len([e for e in channel if e["type"] == "gift_retracted"]) == 1

        # The lists: gifts only (a plain clap is not one), with the stream and the status.
        await fund(chain, manifest, pool, relayer_key, fan.address, tki=50)
        _, clap = await app.asgi_client.post("/api/contracts/clap", headers=fan.headers,
                                             json=intent(manifest, fan, star.address, 0, 5, 9))  # fmt: skip
        assert clap.status == 201, clap.text
        _, mine = await app.asgi_client.get("/api/payment/gifts-sent", headers=fan.headers)
        assert mine.status == 200, mine.text
        items = mine.json["data"]["items"]
        assert [(i["intent"]["digest"], i["intent"]["status"], i["retracted"]) for i in items] == [
            (digest, "rejected", True)
        ]
        assert items[0]["stream"] == {"id": stream_id, "title": "Live art", "creator_id": star.id}
        _, page1 = await app.asgi_client.get("/api/payment/gifts-received", headers=star.headers,
                                             params={"limit": 3})  # fmt: skip
        assert page1.status == 200, page1.text
        first = page1.json["data"]
        assert [i["intent"]["status"] for i in first["items"]] == ["settled"] * 3 and first["next_cursor"]
        _, page2 = await app.asgi_client.get("/api/payment/gifts-received", headers=star.headers,
                                             params={"limit": 3, "cursor": first["next_cursor"]})  # fmt: skip
        second = page2.json["data"]
        assert [i["intent"]["digest"] for i in second["items"]] == [digest] and second["next_cursor"] is None
        _, bad_cursor = await app.asgi_client.get("/api/payment/gifts-sent", headers=fan.headers,
                                                  params={"cursor": "!!"})  # fmt: skip
        assert bad_cursor.status == 400
        _, anonymous = await app.asgi_client.get("/api/payment/gifts-sent")
        assert anonymous.status == 401

        # The stream ends: no more gifts.
        finished = fake_livekit.event("room_finished", room, created_at=t0 + 100)
        assert (await deliver(app, fake_livekit, finished)).status == 200
        late = await _gift(app, fan, stream_id, intent(manifest, fan, star.address, GIFT, PRICE, 5))
        assert late.status == 409 and late.json["error"]["code"] == "stream_not_live"
    finally:
        for task in readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
