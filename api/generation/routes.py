"""Generation jobs (``/api/generate``), the provider's callback (``/api/kie-callback``) and the videos they made."""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.creators.service import parse_user_id
from api.errors import ok
from api.generation.schemas import (
    TASK_ID,
    GenerateBody,
    GenerationStatus,
    KieCallbackAnswer,
    KieCallbackBody,
    KieCallbackQuery,
    Video,
    VideoDeleted,
    VideoPage,
    VideoQuery,
)
from api.generation.service import Generation
from api.inputs import parse_body, parse_query
from api.openapi import doc, path_parameter
from api.protect.ratelimit import rate_limit
from api.reads.service import FAR, decode_cursor, encode_cursor
from api.services import services
from core.errors import InvalidInput

bp = Blueprint("generation", url_prefix="/api")
TASK = path_parameter("task_id", TASK_ID, "the generation task's id")
VIDEO = path_parameter("video_id", r"^[1-9][0-9]{0,17}$", "the video's id")


def _generation(request: Request) -> Generation:
    return services(request).generation


def _task_id(value: str) -> str:
    if not re.fullmatch(TASK_ID, value):
        raise InvalidInput("task_id must be a task id", details={"task_id": value[:40]})
    return value


@bp.post("/generate")
@doc("Start a video generation: priced by the server, its credits held until it ends (5 per hour)",
     tag="generation", body=GenerateBody, response=GenerationStatus, status=202, auth=True)  # fmt: skip
@authenticated()
@rate_limit("generation", per="user")
async def generate(request: Request) -> HTTPResponse:
    body = parse_body(request, GenerateBody)
    wanted = body.model_dump(exclude={"idempotency_key"})
    made = await _generation(request).create(request.ctx.claims.user_id, wanted, body.idempotency_key)
    return ok(made, status=202)


@bp.get("/generate/status/<task_id:str>")
@doc("A generation task of yours: queued, running, succeeded (its video) or failed (credits back)",
     tag="generation", response=GenerationStatus, params=[TASK], auth=True)  # fmt: skip
@authenticated()
async def status(request: Request, task_id: str) -> HTTPResponse:
    return ok(await _generation(request).status(_task_id(task_id), request.ctx.claims.user_id))


@bp.post("/kie-callback")
@doc("The provider's callback (the URL's per-task token); it wakes the task, whose outcome is read back",
     tag="generation", body=KieCallbackBody, query=KieCallbackQuery, response=KieCallbackAnswer)  # fmt: skip
async def kie_callback(request: Request) -> HTTPResponse:
    query = parse_query(request, KieCallbackQuery)
    body = parse_body(request, KieCallbackBody)
    return ok(await _generation(request).callback(query.job, query.token, body.data.taskId))


@bp.get("/videos")
@doc("Your generated videos, newest first", tag="generation", response=VideoPage, query=VideoQuery, auth=True)
@authenticated()
async def videos(request: Request) -> HTTPResponse:
    query = parse_query(request, VideoQuery)
    (before,) = decode_cursor(query.cursor, (int,), (FAR,))
    items = await _generation(request).videos(request.ctx.claims.user_id, before, query.limit)
    cursor = encode_cursor(items[-1]["id"]) if len(items) >= query.limit else None
    return ok({"items": items, "next_cursor": cursor})


@bp.get("/videos/<video_id:str>")
@doc("One of your videos (a URL to read it)", tag="generation", response=Video, params=[VIDEO], auth=True)
@authenticated()
async def video(request: Request, video_id: str) -> HTTPResponse:
    return ok(await _generation(request).video(request.ctx.claims.user_id, parse_user_id(video_id, "video_id")))


@bp.delete("/videos/<video_id:str>")
@doc("Delete one of your videos and its stored object", tag="generation", response=VideoDeleted, params=[VIDEO],
     auth=True)  # fmt: skip
@authenticated()
async def delete_video(request: Request, video_id: str) -> HTTPResponse:
    return ok(await _generation(request).delete_video(request.ctx.claims.user_id, parse_user_id(video_id, "video_id")))
