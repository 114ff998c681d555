"""A private PostgreSQL and Redis (never the shared 5432/6379) and the three processes on them, for the
outage tests: the stores are stopped and started under load while the processes keep running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from anvil.node import free_port
from anvil.stores import Postgres, Redis
from core.db.migrate import migrate
from core.settings import ROOT

PROCESSES = ("indexer", "relayer", "api")


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60, step: float = 0.2) -> Any:
    """Poll until ``condition()`` is truthy (generous deadline, never a fixed sleep as proof)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def private_stores(root: Path) -> tuple[Postgres, Redis, str]:
    pg = Postgres(root / "pg", free_port())
    pg.start()
    redis = Redis(root / "redis", free_port())
    redis.start()

    async def create() -> str:
        admin = await asyncpg.connect(pg.url)
        try:
            await admin.execute('CREATE DATABASE "outage"')
        finally:
            await admin.close()
        url = pg.url.rsplit("/", 1)[0] + "/outage"
        await migrate(url)
        return url

    return pg, redis, asyncio.run(create())


@dataclass
class Stack:
    env: dict[str, str]
    logs: dict[str, Path]
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    def start(self) -> None:
        for name, log_path in self.logs.items():
            with log_path.open("ab") as sink:
                self.children[name] = subprocess.Popen(
                    [sys.executable, "-m", name], env=self.env, cwd=ROOT, stdout=sink, stderr=sink
                )
        wait_for(lambda: self.status("/ready")[0] == 200, "the stack to be ready", timeout=180)

    def dead(self) -> list[str]:
        return [name for name, child in self.children.items() if child.poll() is not None]

    def status(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            response = httpx.get(self.api + path, timeout=5)
        except httpx.HTTPError:
            return 0, {}
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {}

    def metric(self, process: str, line_start: str) -> float | None:
        port = self.env[f"{process.upper()}_METRICS_PORT"]
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self) -> dict[str, int]:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes = {}
        for name, child in self.children.items():
            try:
                codes[name] = child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                codes[name] = child.wait(10)
        return codes


def stack_env(database_url: str, redis_url: str, rpc_url: str, manifest_path: Path, relayer_key: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("API_", "INDEXER_", "RELAYER_"))},
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RPC_URLS": rpc_url,
        "MANIFEST_PATH": str(manifest_path),
        "RELAYER_PRIVATE_KEY": relayer_key,
        "API_PORT": str(free_port()),
        "API_RATE_GENERAL": "0",
        "API_RATE_AUTH": "0",
        "INDEXER_METRICS_PORT": str(free_port()),
        "RELAYER_METRICS_PORT": str(free_port()),
        "INDEXER_POLL_INTERVAL": "0.1",
        "RELAYER_POLL_INTERVAL": "0.1",
    }


class SseClient(threading.Thread):
    """Reads ``/api/feed/sse`` and keeps every event (type, data) it got, in order."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=httpx.Timeout(10, read=60)) as response:
                self.connected.set()
                kind = ""
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        self.events.append((kind, json.loads(line[6:])))
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            if not self._stop.is_set():
                self.error = exc

    def close(self) -> None:
        self._stop.set()

    def seen(self, kind: str) -> list[dict[str, Any]]:
        return [data for k, data in list(self.events) if k == kind]
