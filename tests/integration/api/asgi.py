"""An in-process ASGI client that starts the app once per test instead of once per request.

sanic-testing's ``SanicASGITestClient`` runs the whole start-up (router renders, the before/after-start
listeners: pools, Redis, storage sessions) and the shutdown around every single request: about a second
each with this app's routes. ``StartedClient`` is the same client (same ``(request, response)`` answers),
started on its first request and stopped by ``stop_all`` after the test, so a test runs against one
started app the way a server process runs it."""

from __future__ import annotations

from typing import Any

from sanic import Sanic
from sanic_testing.testing import ASGI_HOST, ASGI_PORT, SanicASGITestClient, TestingResponse

_started: list[StartedClient] = []


class StartedClient(SanicASGITestClient):  # type: ignore[misc]
    def __init__(self, app: Sanic) -> None:
        super().__init__(app)
        self._running = False

    async def _start(self) -> None:
        app = self.sanic_app
        app.router.reset()
        app.signal_router.reset()
        await app._startup()
        await app._server_event("init", "before")
        await app._server_event("init", "after")
        for route in app.router.routes:
            if self._collect_request not in route.extra.request_middleware:
                route.extra.request_middleware.appendleft(self._collect_request)
        if self._collect_request not in app.request_middleware:
            app.request_middleware.appendleft(self._collect_request)
        self._running = True
        _started.append(self)

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        await self.sanic_app._server_event("shutdown", "before")
        await self.sanic_app._server_event("shutdown", "after")

    async def request(  # type: ignore[override]
        self, method: str, url: str, gather_request: bool = True, *args: Any, **kwargs: Any
    ) -> tuple[Any, TestingResponse]:
        if not self._running:
            await self._start()
        if not url.startswith(("http:", "https:", "ftp:", "ftps://", "//", "ws:", "wss:")):
            url = url if url.startswith("/") else f"/{url}"
            url = f"http://{ASGI_HOST}:{ASGI_PORT}{url}"
        self.gather_request = gather_request
        response = await super(SanicASGITestClient, self).request(method, url, *args, **kwargs)
        response.__class__ = TestingResponse
        return (self.last_request if gather_request else None), response


def started_client(app: Sanic) -> Sanic:
    """Give ``app`` a ``StartedClient`` as its ``asgi_client`` (sanic's own attribute for it); returns the app."""
    app._asgi_client = StartedClient(app)
    return app


async def stop_all() -> None:
    while _started:
        await _started.pop().stop()
