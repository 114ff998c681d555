"""Request and response models of generation jobs and videos."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.openapi import Model
from api.payments.schemas import IDEMPOTENCY_KEY
from api.schemas import CURSOR
from api.strict import QueryInt, StrictInt

Quality = Literal["480p", "720p", "1080p"]
Duration = Literal[5, 8, 10, 15]
AspectRatio = Literal["16:9", "9:16", "1:1"]
TASK_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class GenerateBody(Model):
    prompt: str = Field(min_length=1, max_length=4000, pattern=r"^[^\x00]+$")
    triggers: list[str] = Field(default_factory=list, max_length=10, description="trigger words of a style")
    duration: Duration = Field(description="seconds")
    quality: Quality
    aspect_ratio: AspectRatio = "16:9"
    image_url: str | None = Field(None, max_length=2000, pattern=r"^https://[^\s]+$", description="reference image")
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY, description="the same key starts one job")


class GenerationStatus(Model):
    task_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    price: int
    params: dict[str, Any]
    prompt: str
    error: str | None
    video_id: int | None
    created_at: str
    finished_at: str | None


class KieCallbackQuery(Model):
    job: str = Field(pattern=TASK_ID)
    token: str = Field(pattern=r"^[0-9a-f]{64}$")


class KieCallbackData(Model):
    model_config = ConfigDict(extra="ignore", frozen=True)
    taskId: str = Field(min_length=1, max_length=200)  # the provider's field name


class KieCallbackBody(Model):
    """What the provider POSTs (only the task id is read: the outcome comes from its task record)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    code: StrictInt | None = None
    data: KieCallbackData


class KieCallbackAnswer(Model):
    accepted: bool
    status: str


class Video(Model):
    id: int
    task_id: str
    content_type: str
    size_bytes: int
    prompt: str
    params: dict[str, Any]
    created_at: str
    url: str


class VideoPage(Model):
    items: list[Video]
    next_cursor: str | None


class VideoQuery(Model):
    limit: QueryInt = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=CURSOR, description="next_cursor of the previous page")


class VideoDeleted(Model):
    deleted: int
