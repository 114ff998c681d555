"""Prometheus exposition: the worker processes' own listener, and the API's view across its workers."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess, start_http_server

log = logging.getLogger("metrics")


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; port 0 disables it."""
    if port == 0:
        return
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(directory: str | None) -> str:
    """Set up prometheus-client's multiprocess mode for workers started after this call (README "Metrics").

    ``directory`` (the ``PROMETHEUS_MULTIPROC_DIR`` given, if any) is created private (0700) and emptied of
    the previous run's files, except this process's own; with none, a fresh temporary one is made and
    removed at exit. The variable is set so the workers, which import prometheus-client afresh, share it.
    """
    if directory:
        path = Path(directory)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mine = f"_{os.getpid()}.db"
        for stale in path.glob("*.db"):
            if not stale.name.endswith(mine):
                stale.unlink(missing_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="api-metrics-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    os.environ[MULTIPROC_ENV] = str(path)
    log.info("metrics shared across workers in %s", path)
    return str(path)


def exposition() -> bytes:
    """The text exposition of this process, or of every worker when multiprocess mode is on."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call,unused-ignore]
    return generate_latest(registry)
