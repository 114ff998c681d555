"""Media: request a presigned upload, confirm it, read a confirmed object's URLs, delete it."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from api.auth.guards import authenticated
from api.errors import ok
from api.inputs import parse_body
from api.media.schemas import UUID, ConfirmBody, MediaView, UploadBody, UploadForm
from api.openapi import doc, path_parameter
from api.services import services
from api.tips.schemas import NoBody

bp = Blueprint("media", url_prefix="/api/media")
_id = path_parameter("media_id", UUID, "the media object's id")


@bp.post("/uploads")
@doc("A presigned POST form to upload an image (size and type enforced by the store)", tag="media",
     body=UploadBody, response=UploadForm, status=201, auth=True)  # fmt: skip
@authenticated()
async def upload(request: Request) -> HTTPResponse:
    body = parse_body(request, UploadBody)
    form = await services(request).media.presign_upload(request.ctx.claims.user_id, body.purpose, body.content_type)
    return ok(form, status=201)


@bp.post("/<media_id:str>/confirm")
@doc("Check the uploaded object (size, type, a decodable image) and store its variants; refused: deleted",
     tag="media", body=ConfirmBody, response=MediaView, params=[_id], auth=True)  # fmt: skip
@authenticated()
async def confirm(request: Request, media_id: str) -> HTTPResponse:
    return ok(await services(request).media.confirm(request.ctx.claims.user_id, media_id))


@bp.get("/<media_id:str>")
@doc("A confirmed media object's variant URLs", tag="media", response=MediaView, params=[_id])
async def read(request: Request, media_id: str) -> HTTPResponse:
    return ok(await services(request).media.read_urls(media_id))


@bp.delete("/<media_id:str>")
@doc("Delete a media object of yours and its stored objects", tag="media", response=NoBody, params=[_id], auth=True)
@authenticated()
async def delete(request: Request, media_id: str) -> HTTPResponse:
    await services(request).media.delete(request.ctx.claims.user_id, media_id)
    return ok({})
