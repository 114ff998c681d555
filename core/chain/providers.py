"""The RPC providers of ``RPC_URLS``: each one's last known head, health and answers rejected.

Providers behind a load balancer, or several ``RPC_URLS``, are often some blocks apart. A read that
needs block N goes to a provider known to be at or above N (``Providers.pick``); an answer a caller
found incomplete (e.g. logs of a range above the answering node's head) is ``reject``-ed, which counts
it and moves the next reads to another provider when there is one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from prometheus_client import Counter, Gauge

PROVIDER_HEAD = Gauge("rpc_provider_head_block", "Latest head a provider reported", ["provider"])
PROVIDER_LAG = Gauge("rpc_provider_lag_blocks", "Blocks a provider's head is behind the highest known", ["provider"])
PROVIDER_ERRORS = Counter("rpc_provider_errors_total", "Transport failures per provider", ["provider"])
PROVIDER_REJECTED = Counter(
    "rpc_provider_rejected_total", "Answers rejected as incomplete or inconsistent", ["provider", "reason"]
)

UNHEALTHY_SECONDS = 5.0  # a provider that just failed is picked again only when no other fits


def provider_label(index: int, url: str) -> str:
    """``index:host`` — never the path or query, where hosted providers put their API keys."""
    return f"{index}:{urlsplit(url).hostname or 'unknown'}"


@dataclass
class Provider:
    index: int
    url: str
    label: str
    head: int | None = None
    failed_at: float = 0.0

    def healthy(self) -> bool:
        return time.monotonic() - self.failed_at >= UNHEALTHY_SECONDS


class Providers:
    def __init__(self, urls: list[str]) -> None:
        self.all = [Provider(i, url, provider_label(i, url)) for i, url in enumerate(urls)]
        self.current = 0

    def pick(self, min_block: int | None = None) -> Provider:
        """The current provider if it fits, else the next healthy one known at or above ``min_block``."""
        ordered = self.all[self.current :] + self.all[: self.current]

        def fits(p: Provider) -> bool:
            return min_block is None or p.head is None or p.head >= min_block

        for wanted in (lambda p: p.healthy() and fits(p), fits, Provider.healthy):
            for provider in ordered:
                if wanted(provider):
                    return provider
        return ordered[0]

    def top(self) -> int | None:
        """The highest head any provider reported."""
        return max((p.head for p in self.all if p.head is not None), default=None)

    def saw_head(self, provider: Provider, head: int) -> None:
        provider.head = head
        PROVIDER_HEAD.labels(provider.label).set(head)
        top = self.top() or head
        for p in self.all:
            if p.head is not None:
                PROVIDER_LAG.labels(p.label).set(top - p.head)

    def failed(self, provider: Provider) -> Provider:
        """A transport failure: count it and fail over; returns the provider to try next."""
        PROVIDER_ERRORS.labels(provider.label).inc()
        provider.failed_at = time.monotonic()
        return self._rotate(provider)

    def reject(self, provider: Provider, reason: str, *, behind: int | None = None) -> None:
        """An answer found incomplete: count it; later reads prefer another provider.

        ``behind``: the block the provider provably lacked (its head is taken to be below it).
        """
        PROVIDER_REJECTED.labels(provider.label, reason).inc()
        if behind is not None and (provider.head is None or provider.head >= behind):
            provider.head = behind - 1
        self._rotate(provider)

    def _rotate(self, provider: Provider) -> Provider:
        if len(self.all) > 1 and self.current == provider.index:
            self.current = (provider.index + 1) % len(self.all)
        return self.all[self.current]
