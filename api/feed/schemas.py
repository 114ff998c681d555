"""The live feed's query: request and response models (pydantic)."""

from __future__ import annotations

from pydantic import Field

from api.openapi import Model
from api.schemas import ADDRESS, FEED_CURSOR
from api.strict import QueryInt


class FeedQuery(Model):
    cursor: str | None = Field(None, pattern=FEED_CURSOR, description="resume after this event id")
    account: str | None = Field(None, pattern=ADDRESS, description="only this account's changes (and reorgs)")
    stream: QueryInt | None = Field(
        None, ge=1, le=2**62, description="only this live stream's channel: its gifts and retractions (and resyncs)"
    )
