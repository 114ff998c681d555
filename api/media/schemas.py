"""Media: the upload request, the presigned form, a confirmed object's variants."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.openapi import Model

UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MediaId = Field(pattern=UUID, description="a media object's id (from the upload request)")


class UploadBody(Model):
    purpose: Literal["avatar", "post", "verification"] = Field(
        description="what the image is for (sets its variants); 'verification': an identity document, private"
    )
    content_type: Literal["image/jpeg", "image/png", "image/webp"]


class UploadForm(Model):
    """POST the file as multipart/form-data to ``url`` with every field of ``fields``, the file last
    (field name ``file``); then confirm it."""

    id: str
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int
    content_type: str


class VariantUrl(Model):
    url: str
    width: int
    height: int


class MediaView(Model):
    id: str
    purpose: str
    status: Literal["pending", "ready"]
    width: int | None
    height: int | None
    variants: dict[str, VariantUrl]


class ConfirmBody(Model):
    pass
