"""Request and response models of the streaming routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictStr

from api.openapi import Model
from api.schemas import CURSOR
from api.strict import QueryInt, StrictInt, Uint256
from api.tips.schemas import IntentBody, TipIntent


class InfoBody(Model):
    title: StrictStr = Field("", max_length=140)
    category: StrictStr = Field("", max_length=64)
    thumbnail_url: StrictStr = Field("", max_length=500, pattern=r"^(https://\S+)?$")


class ChatSettings(Model):
    enabled: StrictBool = True
    followers_only: StrictBool = False
    slow_mode_seconds: StrictInt = Field(0, ge=0, le=3600)
    allow_anonymous: StrictBool = True


class TokenBody(Model):
    name: StrictStr = Field("", max_length=40, pattern=r"^[^\x00-\x1f]*$", description="a guest's display name")


class IngressBody(Model):
    kind: Literal["rtmp", "whip"] = "rtmp"


class Stream(Model):
    id: int
    creator_id: int
    creator_name: str | None
    room: str
    title: str
    category: str
    thumbnail_url: str
    status: Literal["created", "live", "ended"]
    started_at: str | None
    ended_at: str | None
    duration_seconds: int | None
    viewers: int
    peak_viewers: int
    chat: ChatSettings


class StreamData(Model):
    stream: Stream


class StreamsPage(Model):
    items: list[Stream]
    next_cursor: str | None


class StreamStatus(Model):
    stream_id: int
    status: Literal["created", "live", "ended"]
    viewers: int
    peak_viewers: int
    started_at: str | None


class NewIngress(Model):
    ingress_id: str
    kind: Literal["rtmp", "whip"]
    url: str
    stream_key: str = Field(description="shown once: only its SHA-256 is kept")


class DeletedIngress(Model):
    ingress_id: str
    deleted: bool


class IngressView(Model):
    ingress_id: str
    kind: Literal["rtmp", "whip"]
    url: str
    key_sha256: str


class StreamCredentials(Model):
    stream_id: int
    ingress: IngressView | None


class RoomToken(Model):
    stream_id: int
    room: str
    url: str
    identity: str
    token: str
    can_publish: bool
    can_chat: bool
    chat: ChatSettings


class CreatorStream(Model):
    creator_id: int
    creator_name: str
    stream: Stream | None


class StreamsQuery(Model):
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=CURSOR, description="next_cursor of the previous page")


class StreamSearchQuery(Model):
    q: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")
    limit: QueryInt = Field(20, ge=1, le=100)


class WebhookResult(Model):
    event_id: str
    applied: bool
    reason: str | None = None
    stream_id: int | None = None


class LiveKitEvent(Model):
    """The webhook body LiveKit sends (a ``WebhookEvent`` in protobuf JSON); only its signature decides."""

    event: str
    id: str
    createdAt: str | None = None


class Gift(Model):
    slug: str
    name: str
    price: str = Field(description="Coin base units (18 decimals), decimal string")
    active: bool


class GiftCatalog(Model):
    gifts: list[Gift]


class GiftBody(Model):
    name: StrictStr = Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f]+$")
    price: Uint256
    active: StrictBool = True


class SendGiftBody(Model):
    """A catalog gift given during a live stream: the fan's signed gift Intent for exactly its price."""

    stream_id: StrictInt = Field(ge=1, le=2**62)
    gift: StrictStr = Field(pattern=r"^[a-z0-9-]{1,32}$", description="the catalog gift's slug")
    intent: IntentBody


class GiftStream(Model):
    id: int
    title: str
    creator_id: int


class SentGift(Model):
    stream_id: int
    gift: str
    name: str
    intent: TipIntent


class StreamGift(Model):
    gift: str
    name: str
    stream: GiftStream
    retracted: bool = Field(description="withdrawn from the stream's channel (refused after approval, or rejected)")
    retract_reason: str | None
    intent: TipIntent


class StreamGiftsPage(Model):
    items: list[StreamGift]
    next_cursor: str | None
