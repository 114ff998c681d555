"""A small async JSON-RPC client: batches (split when refused), several providers with failover, retry with backoff.

The indexer's hot path talks raw JSON-RPC through this client instead of web3's middleware
stack; only retryable failures (connection errors, timeouts, 429/5xx, rate limits) are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson
from prometheus_client import Counter, Histogram

from core.chain.providers import Provider, Providers
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
DEFAULT_BATCH_SIZE = 1000  # calls per JSON-RPC batch (RPC_BATCH_SIZE)
_TOO_LARGE_WORDS = ("block range", "max range", "more than", "too many results", "response size", "query exceeds")


# The node lacks the requested blocks (its head is below them): a lagging node, retryable elsewhere or later.
_BEHIND_WORDS = (
    "beyond current head",
    "beyond the current head",
    "block height is",
    "unknown block",
    "header not found",
)


def is_behind(error: RpcError) -> bool:
    """The answering node does not have the requested block(s) yet."""
    return isinstance(error, RetryableRpcError) and any(word in error.message.lower() for word in _BEHIND_WORDS)


def _classify(error: dict[str, Any]) -> RpcError:
    message = str(error.get("message", "rpc error"))
    code = error.get("code")
    lowered = message.lower()
    if any(word in lowered for word in _BEHIND_WORDS):
        return RetryableRpcError(message, rpc_code=code, data=error.get("data"))
    if any(word in lowered for word in _TOO_LARGE_WORDS) and "rate" not in lowered:
        return RequestTooLarge(message, rpc_code=code, data=error.get("data"))
    if code in _RETRYABLE_CODES or any(word in lowered for word in _RETRYABLE_WORDS):
        return RetryableRpcError(message, rpc_code=code, data=error.get("data"))
    return NonRetryableRpcError(message, rpc_code=code, data=error.get("data"))


class RpcClient:
    """JSON-RPC over HTTP against one or more equivalent endpoints (``Providers``: head, health, rejects)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 15.0,
        retries: int = 4,
        backoff: float = 0.2,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if not urls:
            raise ValueError("RpcClient needs at least one URL")
        self.urls = list(urls)
        self.providers = Providers(self.urls)
        self.batch_size = batch_size  # lowered for good when a provider refuses a batch as too large
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._backoff = backoff
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    def fork(self) -> RpcClient:
        """A client of its own (e.g. for a child process) with the same providers, settings and known heads."""
        other = RpcClient(
            self.urls,
            timeout=self._timeout.total or 15.0,
            retries=self._retries,
            backoff=self._backoff,
            batch_size=self.batch_size,
        )
        for mine, theirs in zip(other.providers.all, self.providers.all, strict=True):
            mine.head = theirs.head
        other.providers.current = self.providers.current
        return other

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

    def reject(self, provider: Provider, reason: str, *, behind: int | None = None) -> None:
        """An answer of ``provider`` was incomplete or inconsistent (see ``Providers.reject``)."""
        log.info("rpc: rejected an answer of provider %s (%s)", provider.label, reason)
        self.providers.reject(provider, reason, behind=behind)

    async def _post(
        self, label: str, body: Any, min_block: int | None = None, only: Provider | None = None
    ) -> tuple[Any, Provider]:
        """POST with failover across providers (or to ``only``); retries transport-level failures only."""
        last: Exception | None = None
        attempts = 1 if only else self._retries + 1  # one provider asked alone: its failure is an answer
        for attempt in range(attempts):
            provider = only or self.providers.pick(min_block)
            started = time.perf_counter()
            try:
                async with self._get_session().post(provider.url, json=body) as response:
                    if response.status == 413:
                        raise RequestTooLarge(f"HTTP 413 from provider {provider.label}", rpc_code=413)
                    if response.status == 429 or response.status >= 500:
                        raise RetryableRpcError(
                            f"HTTP {response.status} from {provider.label}", rpc_code=response.status
                        )
                    payload = orjson.loads(await response.read())  # ~3x faster than json on big getLogs
                RPC_LATENCY.labels(label).observe(time.perf_counter() - started)
                return payload, provider
            except (TimeoutError, aiohttp.ClientError, RetryableRpcError, orjson.JSONDecodeError) as exc:
                RPC_ERRORS.labels(label, "transport").inc()
                last = exc
                following = self.providers.failed(provider)
                if following is not provider:
                    log.warning(
                        "rpc %s failed on %s (%s); failing over to %s", label, provider.label, exc, following.label
                    )
                if attempt < attempts - 1:
                    await asyncio.sleep(self._backoff * 2**attempt)
        raise RetryableRpcError(f"RPC unreachable after {attempts} attempts: {last}")

    def _result(self, provider: Provider, method: str, item: dict[str, Any]) -> Any:
        if "error" in item:
            error = _classify(item["error"])
            RPC_ERRORS.labels(method, type(error).__name__).inc()
            return error
        result = item.get("result")
        if method == "eth_blockNumber" and isinstance(result, str):
            self.providers.saw_head(provider, int(result, 16))
        return result

    async def call(self, method: str, params: list[Any] | None = None, *, min_block: int | None = None) -> Any:
        """One call (to a provider known at or above ``min_block``); a retryable JSON-RPC error is retried."""
        result, _ = await self.call_on(method, params, min_block=min_block)
        return result

    async def call_on(
        self, method: str, params: list[Any] | None = None, *, min_block: int | None = None
    ) -> tuple[Any, Provider]:
        """``call``, and which provider answered."""
        for attempt in range(self._retries + 1):
            body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
            payload, provider = await self._post(method, body, min_block)
            result = self._result(provider, method, payload)
            if not isinstance(result, RpcError):
                return result, provider
            if isinstance(result, NonRetryableRpcError) or attempt == self._retries:
                raise result
            await asyncio.sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")

    async def batch(self, calls: Sequence[tuple[str, list[Any]]], *, min_block: int | None = None) -> list[Any]:
        """Several calls in batches of at most ``batch_size``; results in call order. Any error raises."""
        results = await self.batch_settled(calls, min_block=min_block)
        for result in results:
            if isinstance(result, RpcError):
                raise result
        return results

    async def batch_settled(self, calls: Sequence[tuple[str, list[Any]]], *, min_block: int | None = None) -> list[Any]:
        """Several calls in batches of at most ``batch_size``; in call order, each item's result or its ``RpcError``.

        A batch the provider refuses as a whole (too large, or batches not supported) is split and retried;
        a transport failure raises.
        """
        results: list[Any] = []
        offset = 0
        while offset < len(calls):
            chunk = calls[offset : offset + self.batch_size]
            answered, _ = await self.answer(chunk, min_block=min_block)
            results += answered
            offset += len(chunk)
        return results

    async def answer(
        self, calls: Sequence[tuple[str, list[Any]]], *, min_block: int | None = None
    ) -> tuple[list[Any], Provider]:
        """Calls answered together by one provider (one HTTP request, so one node behind most balancers).

        Settled results, in call order, and the provider that answered; a refused batch is split (the
        halves may then be answered by different providers: the last one is returned).
        """
        if not calls:
            return [], self.providers.pick(min_block)
        if len(calls) == 1:
            method, params = calls[0]
            try:
                result, single = await self.call_on(method, params, min_block=min_block)
            except RpcError as exc:
                return [exc], self.providers.pick(min_block)
            return [result], single
        first = next(self._ids)
        body = [
            {"jsonrpc": "2.0", "id": first + offset, "method": method, "params": params}
            for offset, (method, params) in enumerate(calls)
        ]
        for _ in range(len(calls) - 1):
            next(self._ids)
        payload: Any = None  # stays None when the provider refused the request as too large (HTTP 413)
        provider: Provider | None = None
        with contextlib.suppress(RequestTooLarge):
            payload, provider = await self._post(f"batch:{calls[0][0]}", body, min_block)
        if not isinstance(payload, list):  # refused as a whole, or one item's error alone: ask in halves
            half = len(calls) // 2
            if payload is None or "batch" in str(payload).lower():  # too large: never ask for as many again
                self.batch_size = min(self.batch_size, half)
                log.warning("a batch of %d calls was refused (%s); batches now %d", len(calls), payload, half)
            left, _ = await self.answer(calls[:half], min_block=min_block)
            right, last = await self.answer(calls[half:], min_block=min_block)
            return left + right, last
        assert provider is not None
        by_id = {item.get("id"): item for item in payload}
        results: list[Any] = []
        for offset, (method, _) in enumerate(calls):
            item = by_id.get(first + offset)
            if item is None:
                raise RetryableRpcError("batch response is missing an item")
            results.append(self._result(provider, method, item))
        return results, provider

    async def chain_id(self) -> int:
        return int(await self.call("eth_chainId"), 16)

    async def block_number(self) -> int:
        """The highest head among the providers (each one asked when there are several: see ``Providers``)."""
        if len(self.providers.all) == 1:
            return int(await self.call("eth_blockNumber"), 16)
        answers = await asyncio.gather(
            *(self._head_of(p) for p in self.providers.all if p.healthy()), return_exceptions=True
        )
        heads = [a for a in answers if isinstance(a, int)]
        if not heads:
            return int(await self.call("eth_blockNumber"), 16)  # every one failed lately: the usual failover
        return max(heads)

    async def _head_of(self, provider: Provider) -> int:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": "eth_blockNumber", "params": []}
        payload, _ = await self._post("eth_blockNumber", body, only=provider)
        result = self._result(provider, "eth_blockNumber", payload)
        if isinstance(result, RpcError):
            raise result
        return int(result, 16)

    async def get_block(self, number: int | str, *, full: bool = False) -> dict[str, Any] | None:
        tag = hex(number) if isinstance(number, int) else number
        block: dict[str, Any] | None = await self.call(
            "eth_getBlockByNumber", [tag, full], min_block=number if isinstance(number, int) else None
        )
        return block
