"""Prometheus exposition for the worker processes (the API serves /metrics itself)."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger("metrics")


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; port 0 disables it."""
    if port == 0:
        return
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)
