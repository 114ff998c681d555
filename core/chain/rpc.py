"""A small async JSON-RPC client: batches, several URLs with failover, retry with backoff.

The indexer's hot path talks raw JSON-RPC through this client instead of web3's middleware
stack; only retryable failures (connection errors, timeouts, 429/5xx, rate limits) are retried.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson
from prometheus_client import Counter, Histogram

from core.errors import NonRetryableRpcError, RequestTooLarge, RetryableRpcError, RpcError

log = logging.getLogger("rpc")

RPC_LATENCY = Histogram("rpc_request_seconds", "JSON-RPC round-trip time", ["method"])
RPC_ERRORS = Counter("rpc_errors_total", "JSON-RPC failures", ["method", "kind"])

# JSON-RPC error codes that a later attempt may not see again.
_RETRYABLE_CODES = {-32005, -32603, 429}
# "block height is N but requested was M" (anvil) / "unknown block": a block above the node's head, e.g. for
# a moment while a reorg replaces the tip with a branch that is not yet as long; it exists again soon.
_RETRYABLE_WORDS = (
    "timeout",
    "rate limit",
    "too many requests",
    "header not found",
    "try again",
    "block height is",
    "unknown block",
)
# Errors about the size of the request: the same call can never succeed, the caller must
# ask for less (e.g. a narrower eth_getLogs range). Checked before the retryable codes.
_TOO_LARGE_WORDS = ("block range", "max range", "more than", "too many results", "response size", "query exceeds")


def _classify(error: dict[str, Any]) -> RpcError:
    message = str(error.get("message", "rpc error"))
    code = error.get("code")
    lowered = message.lower()
    if any(word in lowered for word in _TOO_LARGE_WORDS) and "rate" not in lowered:
        return RequestTooLarge(message, rpc_code=code, data=error.get("data"))
    if code in _RETRYABLE_CODES or any(word in lowered for word in _RETRYABLE_WORDS):
        return RetryableRpcError(message, rpc_code=code, data=error.get("data"))
    return NonRetryableRpcError(message, rpc_code=code, data=error.get("data"))


class RpcClient:
    """JSON-RPC over HTTP against one or more equivalent endpoints."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 15.0,
        retries: int = 4,
        backoff: float = 0.2,
    ) -> None:
        if not urls:
            raise ValueError("RpcClient needs at least one URL")
        self.urls = list(urls)
        self._current = 0
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._backoff = backoff
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _post(self, label: str, body: Any) -> Any:
        """POST with failover across URLs; retries transport-level failures only."""
        last: Exception | None = None
        for attempt in range(self._retries + 1):
            url = self.urls[self._current]
            started = time.perf_counter()
            try:
                async with self._get_session().post(url, json=body) as response:
                    if response.status == 429 or response.status >= 500:
                        raise RetryableRpcError(f"HTTP {response.status} from {url}", rpc_code=response.status)
                    payload = orjson.loads(await response.read())  # ~3x faster than json on big getLogs
                RPC_LATENCY.labels(label).observe(time.perf_counter() - started)
                return payload
            except (TimeoutError, aiohttp.ClientError, RetryableRpcError, orjson.JSONDecodeError) as exc:
                RPC_ERRORS.labels(label, "transport").inc()
                last = exc
                if len(self.urls) > 1:
                    self._current = (self._current + 1) % len(self.urls)
                    log.warning(
                        "rpc %s failed on %s (%s); failing over to %s", label, url, exc, self.urls[self._current]
                    )
                if attempt < self._retries:
                    await asyncio.sleep(self._backoff * 2**attempt)
        raise RetryableRpcError(f"RPC unreachable after {self._retries + 1} attempts: {last}")

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        """One call; a retryable JSON-RPC error is retried with backoff."""
        for attempt in range(self._retries + 1):
            body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
            payload = await self._post(method, body)
            if "error" not in payload:
                return payload.get("result")
            error = _classify(payload["error"])
            RPC_ERRORS.labels(method, type(error).__name__).inc()
            if isinstance(error, NonRetryableRpcError) or attempt == self._retries:
                raise error
            await asyncio.sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")

    async def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; results in call order. Any error raises."""
        results = await self.batch_settled(calls)
        for result in results:
            if isinstance(result, RpcError):
                raise result
        return results

    async def batch_settled(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; in call order, each item's result or its ``RpcError``.

        A transport failure (or a batch the node refuses as a whole) raises.
        """
        if not calls:
            return []
        first = next(self._ids)
        body = [
            {"jsonrpc": "2.0", "id": first + offset, "method": method, "params": params}
            for offset, (method, params) in enumerate(calls)
        ]
        for _ in range(len(calls) - 1):
            next(self._ids)
        payload = await self._post(f"batch:{calls[0][0]}", body)
        if not isinstance(payload, list):
            raise _classify(payload.get("error", {"message": "batch not supported"}))
        by_id = {item.get("id"): item for item in payload}
        results: list[Any] = []
        for offset, (method, _) in enumerate(calls):
            item = by_id.get(first + offset)
            if item is None:
                raise RetryableRpcError("batch response is missing an item")
            if "error" in item:
                error = _classify(item["error"])
                RPC_ERRORS.labels(method, type(error).__name__).inc()
                results.append(error)
            else:
                results.append(item.get("result"))
        return results

    async def chain_id(self) -> int:
        return int(await self.call("eth_chainId"), 16)

    async def block_number(self) -> int:
        return int(await self.call("eth_blockNumber"), 16)

    async def get_block(self, number: int | str, *, full: bool = False) -> dict[str, Any] | None:
        tag = hex(number) if isinstance(number, int) else number
        block: dict[str, Any] | None = await self.call("eth_getBlockByNumber", [tag, full])
        return block
