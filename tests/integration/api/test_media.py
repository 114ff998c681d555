"""Media against moto's S3 wire server: presigned POST upload → confirm → WebP variants in the bucket;
a non-image, a decompression bomb, an oversized or wrongly typed object refused with nothing kept;
an unconfirmed object unusable; deletes and the orphan cleanup remove the objects."""

from __future__ import annotations

import io
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image
from sanic import Sanic

from api.media.service import Media
from api.media.storage import ObjectStorage
from api.settings import ApiSettings
from tests.fakes import FakeSmtpServer
from tests.integration.api.conftest import api_settings, make_app
from tests.s3 import keys, s3_client, s3_endpoint, s3_settings

__all__ = ["s3_client", "s3_endpoint", "s3_settings"]  # fixtures
PASSWORD = "media-password-1"


@pytest.fixture
async def app(
    db_url: str, chain: str, manifest_path: Path, redis: object, smtp: FakeSmtpServer, s3_settings: dict[str, Any],
    s3_client: Any,
) -> Sanic:  # fmt: skip
    await s3_client.create_bucket(Bucket=s3_settings["s3_bucket"])
    settings: ApiSettings = api_settings(db_url, chain, manifest_path, media_max_bytes=200_000,
                                         media_max_pixels=4_000_000, **s3_settings)  # fmt: skip
    return make_app(settings, smtp)


async def signup(app: Sanic, email: str) -> dict[str, str]:
    _, response = await app.asgi_client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text
    return {"Authorization": f"Bearer {response.json['data']['access_token']}"}


def image(fmt: str = "PNG", size: tuple[int, int] = (800, 600), exif: bool = False) -> bytes:
    picture = Image.new("RGB", size, (200, 30, 90))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SecretCamera"  # Make
        picture.save(out, format=fmt, exif=tags.tobytes())
    else:
        picture.save(out, format=fmt)
    return out.getvalue()


async def presign(app: Sanic, headers: dict[str, str], content_type: str = "image/png", purpose: str = "avatar") -> Any:
    _, response = await app.asgi_client.post(
        "/api/media/uploads", headers=headers, json={"purpose": purpose, "content_type": content_type}
    )
    assert response.status == 201, response.text
    return response.json["data"]


async def post_form(form: dict[str, Any], data: bytes) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.post(form["url"], data=form["fields"], files={"file": ("f", data)})
    return response.status_code


async def test_upload_confirm_variants_read_and_delete(app: Sanic, s3_client: Any, pool: asyncpg.Pool) -> None:
    headers = await signup(app, "media-owner@example.com")
    bucket = app.ctx.settings.s3_bucket
    form = await presign(app, headers, "image/jpeg")
    assert form["fields"]["Content-Type"] == "image/jpeg" and form["max_bytes"] == 200_000
    assert await post_form(form, image("JPEG", exif=True)) in (200, 201, 204)
    assert await keys(s3_client, bucket) == [f"uploads/{form['id']}"]

    _, unusable = await app.asgi_client.get(f"/api/media/{form['id']}")
    assert unusable.status == 400, unusable.text  # pending: not readable
    _, early_avatar = await app.asgi_client.post("/api/viewer/avatar", headers=headers, json={"media_id": form["id"]})
    assert early_avatar.status == 400 and early_avatar.json["success"] is False

    _, confirmed = await app.asgi_client.post(f"/api/media/{form['id']}/confirm", headers=headers, json={})
    assert confirmed.status == 200, confirmed.text
    data = confirmed.json["data"]
    assert (data["status"], data["width"], data["height"]) == ("ready", 800, 600)
    assert {n: (v["width"], v["height"]) for n, v in data["variants"].items()} == {
        "small": (96, 72), "medium": (256, 192), "large": (512, 384),
    }  # fmt: skip
    stored = await keys(s3_client, bucket)
    assert stored == sorted(f"media/{form['id']}/{n}.webp" for n in ("large", "medium", "small"))
    got = await s3_client.get_object(Bucket=bucket, Key=f"media/{form['id']}/large.webp")
    async with got["Body"] as body:
        variant = Image.open(io.BytesIO(await body.read()))
    assert variant.format == "WEBP" and not variant.getexif() and got["ContentType"] == "image/webp"
    async with httpx.AsyncClient() as client:  # the read URL is a working presigned GET
        fetched = await client.get(data["variants"]["small"]["url"])
    assert fetched.status_code == 200 and Image.open(io.BytesIO(fetched.content)).size == (96, 72)

    _, again = await app.asgi_client.post(f"/api/media/{form['id']}/confirm", headers=headers, json={})
    assert again.status == 200 and again.json["data"]["variants"].keys() == data["variants"].keys()
    other = await signup(app, "media-other@example.com")
    _, not_theirs = await app.asgi_client.post("/api/viewer/avatar", headers=other, json={"media_id": form["id"]})
    assert not_theirs.status == 404
    _, avatar = await app.asgi_client.post("/api/viewer/avatar", headers=headers, json={"media_id": form["id"]})
    assert avatar.status == 200 and set(avatar.json["data"]["avatar"]) == {"small", "medium", "large"}

    _, foreign_delete = await app.asgi_client.delete(f"/api/media/{form['id']}", headers=other)
    assert foreign_delete.status == 403
    _, deleted = await app.asgi_client.delete(f"/api/media/{form['id']}", headers=headers)
    assert deleted.status == 200
    assert await keys(s3_client, bucket) == []
    assert await pool.fetchval("SELECT avatar_id FROM user_profiles") is None


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # 64 Mpx in a few kB
    return out.getvalue()


@pytest.mark.parametrize(
    ("declared", "stored_type", "payload", "code"),
    [
        ("image/png", "image/png", b"this is not an image at all", "invalid_media"),
        ("image/png", "image/png", bomb(), "invalid_media"),
        ("image/png", "image/png", image("JPEG"), "invalid_media"),  # bytes of another format
        ("image/png", "text/html", image("PNG"), "invalid_media"),  # stored under another type
        ("image/png", "image/png", b"\x89PNG" + b"\0" * 300_000, "invalid_media"),  # over max_bytes
    ],
    ids=["not-an-image", "bomb", "wrong-format", "wrong-type", "oversized"],
)
async def test_refused_objects_leave_nothing(
    app: Sanic, s3_client: Any, pool: asyncpg.Pool, declared: str, stored_type: str, payload: bytes, code: str
) -> None:
    headers = await signup(app, "refused@example.com")
    bucket = app.ctx.settings.s3_bucket
    form = await presign(app, headers, declared)
    # Straight to the key, as a client ignoring the form could (moto does not enforce POST policies; S3 does).
    await s3_client.put_object(Bucket=bucket, Key=f"uploads/{form['id']}", Body=payload, ContentType=stored_type)
    _, refused = await app.asgi_client.post(f"/api/media/{form['id']}/confirm", headers=headers, json={})
    assert refused.status == 400 and refused.json["error"]["code"] == code, refused.text
    assert await keys(s3_client, bucket) == []
    assert await pool.fetchval("SELECT count(*) FROM media_objects") == 0


async def test_bad_requests_and_orphans(app: Sanic, s3_client: Any, pool: asyncpg.Pool) -> None:
    headers = await signup(app, "orphans@example.com")
    bucket = app.ctx.settings.s3_bucket
    for body in ({"purpose": "avatar", "content_type": "image/gif"}, {"purpose": "x", "content_type": "image/png"}):
        _, bad = await app.asgi_client.post("/api/media/uploads", headers=headers, json=body)
        assert bad.status == 400
    anonymous_body = {"purpose": "post", "content_type": "image/png"}
    _, anonymous = await app.asgi_client.post("/api/media/uploads", json=anonymous_body)
    assert anonymous.status == 401
    _, not_uuid = await app.asgi_client.post("/api/media/nope/confirm", headers=headers, json={})
    assert not_uuid.status == 400
    form = await presign(app, headers, purpose="post")
    _, nothing_yet = await app.asgi_client.post(f"/api/media/{form['id']}/confirm", headers=headers, json={})
    assert nothing_yet.status == 400
    assert await post_form(form, image()) in (200, 201, 204)
    kept = await presign(app, headers, purpose="post")  # still within its upload window
    await pool.execute("UPDATE media_objects SET expires_at = now() - interval '1 second' WHERE id = $1", form["id"])
    async with AsyncExitStack() as stack:  # the cleaner as the background job builds it
        media = Media(pool, await ObjectStorage.open(app.ctx.settings, stack), app.ctx.settings)
        assert await media.clean_orphans() == 1
        assert await media.clean_orphans() == 0
    assert await keys(s3_client, bucket) == []
    assert await pool.fetchval("SELECT id::text FROM media_objects") == kept["id"]


async def test_a_post_carries_confirmed_media_only(app: Sanic, s3_client: Any) -> None:
    headers = await signup(app, "poster@example.com")
    form = await presign(app, headers, "image/webp", purpose="post")
    assert await post_form(form, image("WEBP", size=(2000, 1000))) in (200, 201, 204)
    body = {"body": "look", "media_ids": [form["id"]]}
    _, early = await app.asgi_client.post("/api/content/posts", headers=headers, json=body)
    assert early.status == 400  # not confirmed yet
    _, confirmed = await app.asgi_client.post(f"/api/media/{form['id']}/confirm", headers=headers, json={})
    assert {n: (v["width"], v["height"]) for n, v in confirmed.json["data"]["variants"].items()} == {
        "thumb": (320, 160), "large": (1600, 800),
    }  # fmt: skip
    _, created = await app.asgi_client.post("/api/content/posts", headers=headers, json=body)
    assert created.status == 201, created.text
    assert [m["id"] for m in created.json["data"]["media"]] == [form["id"]]
    await app.asgi_client.delete(f"/api/media/{form['id']}", headers=headers)
    _, after = await app.asgi_client.get(f"/api/content/posts/{created.json['data']['id']}")
    assert after.status == 200 and after.json["data"]["media"] == []
    assert await keys(s3_client, app.ctx.settings.s3_bucket) == []
