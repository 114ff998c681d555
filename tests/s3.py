"""A real S3 wire server for the media tests: moto's threaded server on a free local port, driven
through aiobotocore exactly as production drives S3 or R2 (``API_S3_ENDPOINT_URL``)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiobotocore.session import get_session
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from anvil.node import free_port

_buckets = itertools.count()
CREDENTIALS = {"s3_access_key_id": "test-access-key", "s3_secret_access_key": "test-secret-key-for-the-s3-fake"}


_EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)


class PresignedExpiry:
    """What moto's server skips and S3 does: a presigned request past ``X-Amz-Date + X-Amz-Expires`` is
    refused (403 AccessDenied, "Request has expired")."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "X-Amz-Expires" in query and "X-Amz-Date" in query:
            signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if (datetime.now(UTC) - signed).total_seconds() > int(query["X-Amz-Expires"][0]):
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [_EXPIRED]
        return self.app(environ, start_response)


class ExpiringMotoServer(ThreadedMotoServer):
    """moto's threaded server behind :class:`PresignedExpiry`."""

    def _server_entry(self) -> None:
        app = PresignedExpiry(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ExpiringMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
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
