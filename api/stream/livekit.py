"""LiveKit through its official server SDK (``livekit-api``): access tokens, rooms, ingresses, webhooks.

Nothing here touches the database: ``api/stream/service.py`` decides, this module talks to LiveKit.
Without ``API_LIVEKIT_URL``/``KEY``/``SECRET`` (or with a placeholder secret outside development) every
call raises :class:`ConfigError` (the routes answer 503).
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from livekit import api

from api.domain_errors import Unauthenticated
from api.settings import ApiSettings
from core.errors import ConfigError, InvalidInput, RetryableError

T = TypeVar("T")
INPUTS = {"rtmp": api.IngressInput.RTMP_INPUT, "whip": api.IngressInput.WHIP_INPUT}


@dataclass(frozen=True)
class Grant:
    """What one participant may do in one room."""

    room: str
    identity: str
    name: str
    publish: bool
    publish_data: bool
    admin: bool = False


@dataclass(frozen=True)
class Ingress:
    ingress_id: str
    url: str
    stream_key: str


class LiveKit:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._api: api.LiveKitAPI | None = None

    @property
    def configured(self) -> bool:
        return self.settings.livekit_configured

    def _require(self) -> tuple[str, str]:
        if not self.configured:
            raise ConfigError("streaming is off: API_LIVEKIT_URL, API_LIVEKIT_API_KEY and API_LIVEKIT_API_SECRET")
        return self.settings.livekit_api_key, self.settings.livekit_api_secret.get_secret_value()

    def client(self) -> api.LiveKitAPI:
        key, secret = self._require()
        if self._api is None:
            timeout = aiohttp.ClientTimeout(total=self.settings.livekit_timeout)
            self._api = api.LiveKitAPI(self.settings.livekit_url, key, secret, timeout=timeout, failover=False)
        return self._api

    async def close(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    @property
    def public_url(self) -> str:
        return self.settings.livekit_public_url or self.settings.livekit_url

    def token(self, grant: Grant) -> str:
        key, secret = self._require()
        grants = api.VideoGrants(
            room_join=True,
            room=grant.room,
            can_publish=grant.publish,
            can_subscribe=True,
            can_publish_data=grant.publish_data,
            room_admin=grant.admin,
        )
        ttl = datetime.timedelta(seconds=self.settings.livekit_token_ttl)
        token = api.AccessToken(key, secret).with_identity(grant.identity).with_name(grant.name)
        return token.with_ttl(ttl).with_grants(grants).to_jwt()

    async def create_room(self, room: str) -> None:
        request = api.CreateRoomRequest(name=room, empty_timeout=self.settings.livekit_empty_timeout)
        await self._call(self.client().room.create_room(request))

    async def delete_room(self, room: str) -> None:
        await self._call(self.client().room.delete_room(api.DeleteRoomRequest(room=room)), missing_ok=True)

    async def create_ingress(self, kind: str, room: str, identity: str, name: str) -> Ingress:
        request = api.CreateIngressRequest(
            input_type=INPUTS[kind], name=f"{room}-{kind}", room_name=room,
            participant_identity=identity, participant_name=name,
        )  # fmt: skip
        info = await self._call(self.client().ingress.create_ingress(request))
        assert info is not None
        return Ingress(info.ingress_id, info.url, info.stream_key)

    async def delete_ingress(self, ingress_id: str) -> None:
        call = self.client().ingress.delete_ingress(api.DeleteIngressRequest(ingress_id=ingress_id))
        await self._call(call, missing_ok=True)

    async def _call(self, call: Awaitable[T], *, missing_ok: bool = False) -> T | None:
        try:
            return await call
        except api.TwirpError as exc:
            if missing_ok and exc.code == api.TwirpErrorCode.NOT_FOUND:
                return None
            raise RetryableError("LiveKit refused the call", details={"code": exc.code, "status": exc.status}) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableError("LiveKit is unreachable; retry shortly") from exc

    def receive(self, body: bytes, authorization: str | None) -> api.WebhookEvent:
        """The webhook's event, verified by the SDK (a JWT signed with our key whose sha256 is the body's)."""
        key, secret = self._require()
        if not authorization:
            raise Unauthenticated("the webhook is not signed", details={"reason": "missing"})
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("the webhook body is not UTF-8") from exc
        verifier = api.TokenVerifier(key, secret)
        try:
            verifier.verify(authorization)
        except Exception as exc:  # the SDK raises plain exceptions (jwt's and its own)
            raise Unauthenticated("the webhook signature is invalid", details={"reason": "invalid"}) from exc
        try:
            return api.WebhookReceiver(verifier).receive(text, authorization)
        except Exception as exc:  # hash mismatch or a body that is not a WebhookEvent
            if "hash" in str(exc) or "sha256" in str(exc):
                raise Unauthenticated("the webhook body does not match its signature",
                                      details={"reason": "body_hash"}) from exc  # fmt: skip
            raise InvalidInput("the webhook body is not a LiveKit event") from exc
