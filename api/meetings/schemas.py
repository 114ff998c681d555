"""Request and response models of the meetings and notifications routes (documented via api.openapi)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.openapi import Model
from api.schemas import ADDRESS, CURSOR
from api.strict import QueryInt, StrictInt

ID = r"^[0-9]{1,18}$"
UINT = r"^[0-9]{1,78}$"
SIGNATURE = r"^0x[0-9a-fA-F]{130}$"
MeetingStatus = Literal["scheduled", "redeeming", "open", "expired", "closed", "void"]
NoticeKind = Literal["auction_won", "meeting_ready", "meeting_extended", "meeting_closed"]


class Burn(Model):
    request_id: int
    status: str | None = Field(description="the relayer request's status (pending, submitted, confirmed, failed…)")
    holder: str | None
    tx_hash: str | None
    error: str | None


class Meeting(Model):
    id: int
    auction_id: str = Field(description="uint256, decimal string")
    seller: str
    winner: str
    pass_id: str = Field(description="the MeetingPass token id, decimal string")
    status: MeetingStatus
    role: Literal["seller", "winner", "holder"] = Field(description="the caller's part in it")
    room: str | None = Field(description="the Jitsi room; shown to the seller and the admitted holder only")
    starts_at: str | None
    ends_at: str | None
    closed_at: str | None
    pass_owner: str | None = Field(description="the pass's indexed owner (null once burned)")
    redeemed_by: str | None = Field(description="the holder whose burn (PassRedeemed) is indexed")
    redeemed_block: int | None
    burn: Burn | None
    created_at: str | None


class MeetingData(Model):
    meeting: Meeting


class MeetingsPage(Model):
    items: list[Meeting]
    next_cursor: str | None


class MeetingsQuery(Model):
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=CURSOR, description="next_cursor of the previous page")


class RedeemBody(Model):
    holder: str = Field(pattern=ADDRESS, description="the pass holder who signed")
    deadline: StrictInt = Field(ge=0, le=2**64, description="the Redemption's deadline (unix seconds)")
    signature: str = Field(pattern=SIGNATURE, description="EIP-712 Redemption(tokenId, holder, deadline), 65 bytes")


class Access(Model):
    status: Literal["granted", "pending"]
    meeting_id: int
    request_id: int | None = Field(None, description="the relayer burn request (pending)")
    holder: str | None = None
    token: str | None = Field(None, description="the Jitsi JWT (granted)")
    room: str | None = None
    domain: str | None = None
    url: str | None = None
    expires_at: str | None = None
    moderator: bool | None = None


class ExtendBody(Model):
    ends_at: StrictInt = Field(ge=0, le=2**40, description="the new end (unix seconds), later than the current one")


class CloseBody(Model):
    reason: str | None = Field(None, max_length=200, description="told to the winner in the notification")


class EmptyBody(Model):
    """No fields: send ``{}`` (or nothing)."""


class AccessLogEntry(Model):
    id: int
    user_id: int | None
    wallet: str | None
    action: Literal["redeem", "token"]
    outcome: Literal["granted", "pending", "denied"]
    reason: str
    at: str


class AccessLog(Model):
    items: list[AccessLogEntry]


class Notification(Model):
    id: int
    recipient: str
    kind: NoticeKind
    meeting_id: int | None
    data: dict[str, Any]
    read: bool
    read_at: str | None
    created_at: str


class NotificationsQuery(MeetingsQuery):
    unread: bool = Field(False, description="only unread notifications")


class NotificationsPage(Model):
    items: list[Notification]
    next_cursor: str | None
    unread: int = Field(description="how many are unread in total")


class NotificationData(Model):
    notification: Notification


class MarkedRead(Model):
    marked: int
