"""A provider-like JSON-RPC proxy in front of a local node, for the peers benchmark.

What a hosted endpoint (Infura, Alchemy, a public node) does to a client that a local anvil does not:

- **latency**: every HTTP request (a whole batch) waits ``latency`` seconds before it is forwarded;
- **a request-rate limit**: a token bucket of ``rate`` HTTP requests per second (burst ``rate``); a request
  over it is answered HTTP 429 with a JSON-RPC error ``{"code": 429, "message": "Too Many Requests"}``
  and never reaches the node;
- **a result cap on eth_getLogs** (Infura's rule and wording): a query that matches more than ``max_logs``
  logs fails with ``-32005 query returned more than N results. Try with this block range [0x…, 0x…].``,
  the suggested range being the blocks whose logs fit. Ours, Ponder and SQD all split on that message.

``python -m bench.peers.proxy --upstream URL [--port P] [--latency-ms 60] [--rate 25] [--max-logs 10000]``
runs it on its own (``GET /stats``: requests, calls, limited, capped so far) (the benchmark starts it as a child process so that it never shares a core's
event loop with the tool being measured); ``Proxy`` is the same thing in-process, for the test.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from anvil.node import free_port


@dataclass
class TokenBucket:
    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.rate
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Proxy:
    upstream: str
    latency: float = 0.06
    rate: float | None = 25.0
    max_logs: int | None = 10_000
    port: int = 0
    url: str = ""
    counts: Counter[str] = field(default_factory=Counter)  # "requests", "calls", "limited", "capped"
    _bucket: TokenBucket | None = None
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None

    async def start(self) -> Proxy:
        self._bucket = TokenBucket(self.rate) if self.rate else None
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/", self._handle)
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = self.port or free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _stats(self, _: web.Request) -> web.Response:
        return web.json_response(dict(self.counts))

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        items = body if isinstance(body, list) else [body]
        self.counts["requests"] += 1
        self.counts["calls"] += len(items)
        if self._bucket is not None and not self._bucket.take():
            self.counts["limited"] += 1
            error = {"code": 429, "message": "Too Many Requests"}
            answers = [{"jsonrpc": "2.0", "id": item.get("id"), "error": error} for item in items]
            return web.json_response(answers if isinstance(body, list) else answers[0], status=429)
        if self.latency:
            await asyncio.sleep(self.latency)
        answers = await self._up(items)
        if self.max_logs is not None:
            answers = [self._cap(item, answer) for item, answer in zip(items, answers, strict=True)]
        return web.json_response(answers if isinstance(body, list) else answers[0])

    async def _up(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self._session is not None
        async with self._session.post(self.upstream, json=items) as response:
            answers: list[dict[str, Any]] = await response.json(content_type=None)
        by_id = {answer.get("id"): answer for answer in answers}
        return [by_id.get(item.get("id"), answers[i]) for i, item in enumerate(items)]

    def _cap(self, item: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        logs = answer.get("result")
        if item.get("method") != "eth_getLogs" or not isinstance(logs, list) or len(logs) <= (self.max_logs or 0):
            return answer
        assert self.max_logs is not None
        self.counts["capped"] += 1
        query = (item.get("params") or [{}])[0]
        first = int(query.get("fromBlock", logs[0]["blockNumber"]), 16)
        # The widest range that starts at fromBlock and whose logs fit (at least its first block).
        last = max(first, int(logs[self.max_logs]["blockNumber"], 16) - 1)
        message = (
            f"query returned more than {self.max_logs} results. Try with this block range [{hex(first)}, {hex(last)}]."
        )
        return {"jsonrpc": "2.0", "id": item.get("id"), "error": {"code": -32005, "message": message}}


async def serve(proxy: Proxy) -> None:
    await proxy.start()
    print(proxy.url, flush=True)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await proxy.stop()
        print(dict(proxy.counts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="provider-like JSON-RPC proxy")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--rate", type=float, default=25, help="HTTP requests per second (0: no limit)")
    parser.add_argument("--max-logs", type=int, default=10_000, help="eth_getLogs result cap (0: none)")
    args = parser.parse_args()
    proxy = Proxy(args.upstream, args.latency_ms / 1000, args.rate or None, args.max_logs or None, args.port)
    asyncio.run(serve(proxy))


if __name__ == "__main__":
    main()
