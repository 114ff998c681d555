"""A load-balancing JSON-RPC proxy in front of an up-to-date node and a lagging one, for the provider tests.

The lagging node is a view of the same anvil some blocks behind (``lag`` blocks, or ``frozen_at`` a
fixed height), answering as a real node that has not seen the newer blocks yet: its head is lower,
newer blocks, receipts and transactions are unknown, ``eth_getLogs`` over a range that reaches past
its head answers the logs up to its head without error (what hosted nodes do), by block hash an
unknown block is an error, and nonces are its own. Raw transactions are forwarded to the network.

Routing: ``round_robin`` sends each HTTP request (a whole batch) to the next node; ``logs_on_lagging``
sends requests whose first method is ``eth_getLogs`` to the lagging node and the rest to the other;
``lagging`` makes the proxy the lagging node alone (a provider of its own among ``RPC_URLS``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from anvil.node import free_port

_TAGS = ("latest", "pending", "safe", "finalized")


@dataclass
class Balancer:
    upstream: str
    mode: str = "round_robin"
    lag: int = 0
    frozen_at: int | None = None
    url: str = ""
    served: Counter[str] = field(default_factory=Counter)  # requests per node: "live", "lagging"
    _turn: itertools.cycle[str] = field(default_factory=lambda: itertools.cycle(("live", "lagging")))
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None

    async def start(self) -> Balancer:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def catch_up(self) -> None:
        """The lagging node has every block from now on."""
        self.lag, self.frozen_at = 0, None

    async def _up(self, body: Any) -> Any:
        assert self._session is not None
        async with self._session.post(self.upstream, json=body) as response:
            return await response.json()

    async def _call(self, method: str, params: list[Any]) -> Any:
        answer = await self._up({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        return answer.get("result")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        items = body if isinstance(body, list) else [body]
        node = self._route(items[0].get("method", ""))
        self.served[node] += 1
        if node == "live":
            return web.json_response(await self._up(body))
        height = await self.height()
        answers = [await self._lagging(item, height) for item in items]
        return web.json_response(answers if isinstance(body, list) else answers[0])

    def _route(self, method: str) -> str:
        if self.mode == "lagging":
            return "lagging"
        if self.mode == "logs_on_lagging":
            return "lagging" if method == "eth_getLogs" else "live"
        return next(self._turn)

    async def height(self) -> int:
        """The lagging node's head now."""
        head = int(await self._call("eth_blockNumber", []), 16)
        if self.frozen_at is not None:
            return min(head, self.frozen_at)
        return max(0, head - self.lag)

    async def _lagging(self, item: dict[str, Any], height: int) -> dict[str, Any]:
        method, params = item.get("method", ""), list(item.get("params") or [])

        def answer(result: Any) -> dict[str, Any]:
            return {"jsonrpc": "2.0", "id": item.get("id"), "result": result}

        def error(message: str) -> dict[str, Any]:
            return {"jsonrpc": "2.0", "id": item.get("id"), "error": {"code": -32000, "message": message}}

        def number(value: Any) -> int:
            return height if value in _TAGS else int(value, 16)

        if method == "eth_blockNumber":
            return answer(hex(height))
        if method == "eth_getBlockByNumber":
            wanted = number(params[0])
            return answer(None if wanted > height else await self._call(method, [hex(wanted), *params[1:]]))
        if method in ("eth_getTransactionReceipt", "eth_getTransactionByHash", "eth_getBlockByHash"):
            found = await self._call(method, params)
            mined = found.get("blockNumber") if isinstance(found, dict) else None
            return answer(None if mined is None or int(mined, 16) > height else found)
        if method == "eth_getLogs":
            query = dict(params[0])
            if "blockHash" in query:
                block = await self._call("eth_getBlockByHash", [query["blockHash"], False])
                if block is None or int(block["number"], 16) > height:
                    return error("unknown block")
                return await self._up({**item, "params": [query]})
            start, end = number(query.get("fromBlock", "latest")), number(query.get("toBlock", "latest"))
            if start > height:
                return error(f"block range extends beyond current head block {height}")
            query.update(fromBlock=hex(start), toBlock=hex(min(end, height)))  # the logs it has, no error
            return await self._up({**item, "params": [query]})
        if method in ("eth_getTransactionCount", "eth_call", "eth_estimateGas", "eth_getBalance", "eth_getCode"):
            if len(params) > 1 and (params[-1] in _TAGS or isinstance(params[-1], str)):
                params[-1] = hex(min(number(params[-1]), height))
            return await self._up({**item, "params": params})
        return await self._up(item)
