"""A real S3 wire server for the media tests: moto's threaded server on a free local port, driven
through aiobotocore exactly as production drives S3 or R2 (``API_S3_ENDPOINT_URL``)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

from anvil.node import free_port

_buckets = itertools.count()
CREDENTIALS = {"s3_access_key_id": "test-access-key", "s3_secret_access_key": "test-secret-key-for-the-s3-fake"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str) -> dict[str, Any]:
    """Settings overrides for a fresh bucket (a valid S3 name) on the server."""
    return {"s3_endpoint_url": s3_endpoint, "s3_bucket": f"media-test-{next(_buckets)}", **CREDENTIALS}


@pytest.fixture
async def s3_client(s3_endpoint: str) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=s3_endpoint,
                region_name="us-east-1",
                aws_access_key_id=CREDENTIALS["s3_access_key_id"],
                aws_secret_access_key=CREDENTIALS["s3_secret_access_key"],
            )
        )
        yield client


async def keys(client: Any, bucket: str) -> list[str]:
    listed = await client.list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))
