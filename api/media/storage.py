"""The S3-compatible object store (S3, R2, MinIO, moto's server) through aiobotocore.

One client per process, opened on the services' exit stack. Other domains store objects through
:class:`api.media.service.Media`; this adapter only speaks the wire protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from api.settings import ApiSettings
from core.errors import ServiceUnavailable


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str


class ObjectStorage:
    """A bucket: presigned POST forms, HEAD, GET (bounded), PUT, DELETE, presigned GET URLs."""

    def __init__(self, client: Any, bucket: str, public_base_url: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/")

    @classmethod
    async def open(cls, settings: ApiSettings, stack: AsyncExitStack) -> ObjectStorage:
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": settings.s3_addressing_style},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=settings.s3_endpoint_url or None,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key_id or None,
                aws_secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
                config=config,
            )
        )
        return cls(client, settings.s3_bucket, settings.s3_public_base_url)

    async def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (development and tests; production buckets are provisioned)."""
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            await self.client.create_bucket(Bucket=self.bucket)

    async def presign_post(self, key: str, content_type: str, max_bytes: int, ttl: int) -> dict[str, Any]:
        """A form the browser POSTs the file with: exactly this key and type, at most ``max_bytes``."""
        with _unavailable():
            form: dict[str, Any] = await self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=ttl,
            )
        return form

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            found = await self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise ServiceUnavailable("the object store refused a HEAD", details={"key": key}) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable("the object store is unavailable") from exc
        return ObjectInfo(int(found["ContentLength"]), str(found.get("ContentType", "")))

    async def read(self, key: str, max_bytes: int) -> bytes:
        """The object's bytes, at most ``max_bytes`` (a larger object is cut: the caller HEADed it first)."""
        with _unavailable():
            got = await self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}")
            async with got["Body"] as body:
                data: bytes = await body.read()
        return data

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        with _unavailable():
            await self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def delete(self, keys: list[str]) -> None:
        """Delete the keys (missing ones are fine), 1000 per request."""
        with _unavailable():
            for start in range(0, len(keys), 1000):
                chunk = [{"Key": k} for k in keys[start : start + 1000]]
                await self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})

    async def url(self, key: str, ttl: int) -> str:
        """Where a client reads the object: under the public base (a CDN) if set, else a presigned GET."""
        if self.public_base_url:
            return f"{self.public_base_url}/{key}"
        return await self.presigned_url(key, ttl)

    async def presigned_url(self, key: str, ttl: int) -> str:
        """A presigned GET of the object valid for ``ttl`` seconds (private objects: never the public base)."""
        with _unavailable():
            signed: str = await self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl
            )
        return signed


@contextmanager
def _unavailable() -> Iterator[None]:
    """Client and transport failures of the store become ``ServiceUnavailable`` (503, retry later)."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("the object store is unavailable or refused the request") from exc
