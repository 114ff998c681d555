"""A local fake of a LiveKit server for the calls the API makes, driven through the real ``livekit-api``
SDK (its URL pointed here), and the sender of the webhooks LiveKit would send back.

- Twirp: ``POST /twirp/livekit.RoomService/{CreateRoom,DeleteRoom}`` and
  ``/twirp/livekit.Ingress/{CreateIngress,DeleteIngress,ListIngress}``; the request is decoded with
  livekit-protocol's messages from ``application/protobuf`` (what the SDK sends) or ``application/json``,
  and answered in the same content type. The bearer token is verified with the SDK's ``TokenVerifier``
  and must carry the grant the call needs (``roomCreate``, ``ingressAdmin``): otherwise Twirp's 401
  ``unauthenticated`` / 403 ``permission_denied`` error body; an unknown ingress is Twirp's 404.
- Webhooks: ``event(...)`` builds a ``WebhookEvent``; ``signed(event)`` serializes it as LiveKit does
  (protobuf JSON) with the ``Authorization`` JWT carrying the body's base64 SHA-256, signed with the
  API key and secret; ``send(event)`` POSTs it to ``webhook_url``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import itertools
import secrets
import time
from typing import Any

import aiohttp
from aiohttp import web
from google.protobuf.json_format import MessageToJson, Parse
from google.protobuf.message import Message
from livekit import api
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol import room as room_pb

from anvil.node import free_port

# (service, method) -> (request class, the grant it needs, handler name)
ROUTES: dict[tuple[str, str], tuple[type[Message], str, str]] = {
    ("RoomService", "CreateRoom"): (room_pb.CreateRoomRequest, "room_create", "_create_room"),
    ("RoomService", "DeleteRoom"): (room_pb.DeleteRoomRequest, "room_create", "_delete_room"),
    ("Ingress", "CreateIngress"): (ingress_pb.CreateIngressRequest, "ingress_admin", "_create_ingress"),
    ("Ingress", "DeleteIngress"): (ingress_pb.DeleteIngressRequest, "ingress_admin", "_delete_ingress"),
    ("Ingress", "ListIngress"): (ingress_pb.ListIngressRequest, "ingress_admin", "_list_ingress"),
}


class TwirpFailure(Exception):
    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class FakeLiveKit:
    def __init__(self, api_key: str, api_secret: str, webhook_url: str = "") -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.webhook_url = webhook_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rooms: dict[str, models.Room] = {}
        self.ingresses: dict[str, ingress_pb.IngressInfo] = {}
        self.calls: list[tuple[str, str, str]] = []  # (service, method, content type)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeLiveKit:
        app = web.Application()
        app.router.add_post("/twirp/livekit.{service}/{method}", self._twirp)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ Twirp
    async def _twirp(self, request: web.Request) -> web.Response:
        service, method = request.match_info["service"], request.match_info["method"]
        content_type = request.content_type
        self.calls.append((service, method, content_type))
        try:
            if (service, method) not in ROUTES:
                raise TwirpFailure(404, "bad_route", f"no such method {service}/{method}")
            message_class, grant, handler = ROUTES[(service, method)]
            self._authorize(request.headers.get("Authorization", ""), grant)
            body = await request.read()
            if content_type == "application/protobuf":
                message = message_class.FromString(body)
            elif content_type == "application/json":
                message = Parse(body.decode(), message_class())
            else:
                raise TwirpFailure(400, "malformed", f"unsupported content type {content_type}")
            answer: Message = getattr(self, handler)(message)
        except TwirpFailure as exc:
            return web.json_response({"code": exc.code, "msg": exc.msg}, status=exc.status)
        if content_type == "application/json":
            return web.Response(body=MessageToJson(answer).encode(), content_type="application/json")
        return web.Response(body=answer.SerializeToString(), content_type="application/protobuf")

    def _authorize(self, header: str, grant: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise TwirpFailure(401, "unauthenticated", "no bearer token")
        try:
            claims = api.TokenVerifier(self.api_key, self.api_secret).verify(token)
        except Exception as exc:
            raise TwirpFailure(401, "unauthenticated", f"invalid token: {exc}") from exc
        if not claims.video or not getattr(claims.video, grant):
            raise TwirpFailure(403, "permission_denied", f"the token lacks {grant}")

    def _create_room(self, request: room_pb.CreateRoomRequest) -> models.Room:
        room = self.rooms.get(request.name)
        if room is None:
            room = models.Room(sid=f"RM_{secrets.token_hex(6)}", name=request.name,
                                empty_timeout=request.empty_timeout, creation_time=int(time.time()))  # fmt: skip
            self.rooms[request.name] = room
        return room

    def _delete_room(self, request: room_pb.DeleteRoomRequest) -> room_pb.DeleteRoomResponse:
        self.rooms.pop(request.room, None)
        return room_pb.DeleteRoomResponse()

    def _create_ingress(self, request: ingress_pb.CreateIngressRequest) -> ingress_pb.IngressInfo:
        if not request.room_name:
            raise TwirpFailure(400, "invalid_argument", "room_name is required")
        whip = request.input_type == ingress_pb.IngressInput.WHIP_INPUT
        info = ingress_pb.IngressInfo(
            ingress_id=f"IN_{next(self._ids)}_{secrets.token_hex(4)}", name=request.name,
            stream_key=secrets.token_urlsafe(16), input_type=request.input_type, room_name=request.room_name,
            participant_identity=request.participant_identity, participant_name=request.participant_name,
            url=f"{self.url}/w" if whip else "rtmp://127.0.0.1:1935/x",
        )  # fmt: skip
        self.ingresses[info.ingress_id] = info
        return info

    def _delete_ingress(self, request: ingress_pb.DeleteIngressRequest) -> ingress_pb.IngressInfo:
        info = self.ingresses.pop(request.ingress_id, None)
        if info is None:
            raise TwirpFailure(404, "not_found", "no such ingress")
        return info

    def _list_ingress(self, request: ingress_pb.ListIngressRequest) -> ingress_pb.ListIngressResponse:
        items = [i for i in self.ingresses.values() if not request.room_name or i.room_name == request.room_name]
        return ingress_pb.ListIngressResponse(items=items)

    # ------------------------------------------------------------------ webhooks
    def event(self, kind: str, room: str = "", *, identity: str = "", ingress_id: str = "",
              created_at: int | None = None, event_id: str | None = None) -> api.WebhookEvent:  # fmt: skip
        event = api.WebhookEvent(event=kind, id=event_id or f"EV_{secrets.token_hex(8)}",
                                 created_at=created_at if created_at is not None else int(time.time()))  # fmt: skip
        if room:
            event.room.CopyFrom(self.rooms.get(room) or models.Room(name=room))
        if identity:
            event.participant.CopyFrom(models.ParticipantInfo(identity=identity, sid=f"PA_{identity}"))
        if ingress_id:
            info = self.ingresses.get(ingress_id) or ingress_pb.IngressInfo(ingress_id=ingress_id)
            event.ingress_info.CopyFrom(info)
        return event

    def signed(self, event: api.WebhookEvent, *, secret: str | None = None) -> tuple[bytes, str]:
        """The body and ``Authorization`` header LiveKit would send for ``event``."""
        body = MessageToJson(event).encode()
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        token = api.AccessToken(self.api_key, secret or self.api_secret).with_sha256(digest)
        return body, token.with_ttl(datetime.timedelta(minutes=5)).to_jwt()

    async def send(self, event: api.WebhookEvent) -> tuple[int, dict[str, Any]]:
        body, token = self.signed(event)
        headers = {"Authorization": token, "Content-Type": "application/webhook+json"}
        async with aiohttp.ClientSession() as session, session.post(self.webhook_url, data=body,
                                                                   headers=headers) as response:  # fmt: skip
            return response.status, await response.json()
