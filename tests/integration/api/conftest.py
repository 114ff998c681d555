"""Fixtures for the API tests: settings against the test stores, an in-process app, a fake SMTP
server, and a real ``python -m api`` process for streaming and the schemathesis run."""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic

from anvil.node import free_port
from api.app import create_app
from api.launch import spawn_api
from api.mail import SmtpMailer
from api.settings import ApiSettings
from tests.conftest import REDIS_URL
from tests.fakes import FakeSmtpServer
from tests.integration.api.asgi import started_client
from tests.processes import stop

SIWE_DOMAIN = "app.example:443"
_names = itertools.count()


@pytest.fixture
def smtp() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    yield server
    server.stop()


def api_settings(db_url: str, chain: str, manifest_path: Path, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": db_url,
        "redis_url": REDIS_URL,
        "rpc_urls": [chain],
        "manifest_path": manifest_path,
        "jwt_secret": "test-secret-for-the-api-tests-0123456789",
        "siwe_domain": SIWE_DOMAIN,
        "rate_general": "0",
        "rate_auth": "0",
        "min_block_timeout": 2.0,
    }
    values.update(overrides)
    return ApiSettings(**values)


def make_app(settings: ApiSettings, smtp: FakeSmtpServer | None = None) -> Sanic:
    mailer = SmtpMailer("127.0.0.1", smtp.port, "no-reply@test") if smtp else None
    return started_client(create_app(settings, name=f"api_it_{next(_names)}", mailer=mailer))


@pytest.fixture
def settings(db_url: str, chain: str, manifest_path: Path, redis: object) -> ApiSettings:
    return api_settings(db_url, chain, manifest_path)


@pytest.fixture
def app(settings: ApiSettings, smtp: FakeSmtpServer) -> Sanic:
    return make_app(settings, smtp)


def _env(settings: ApiSettings, port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        {
            "API_ENVIRONMENT": settings.environment,
            "API_DATABASE_URL": settings.database_url,
            "API_REDIS_URL": settings.redis_url,
            "API_RPC_URLS": ",".join(settings.rpc_urls),
            "API_MANIFEST_PATH": str(settings.manifest_path),
            "API_JWT_SECRET": settings.jwt_secret.get_secret_value(),
            "API_SIWE_DOMAIN": settings.siwe_domain,
            "API_RATE_GENERAL": settings.rate_general,
            "API_RATE_AUTH": settings.rate_auth,
            "API_MIN_BLOCK_TIMEOUT": str(settings.min_block_timeout),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "API_WORKERS": "1",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def start_api(
    settings: ApiSettings, extra: dict[str, str] | None = None, log: Path | None = None, timeout: float = 180
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m api`` on a free port; its output goes to ``log``."""
    log = log or Path(tempfile.mkstemp(prefix="api-", suffix=".log")[1])
    return spawn_api(_env(settings, free_port(), extra or {}), log, timeout=timeout)


@pytest.fixture
def api_server(settings: ApiSettings, tmp_path: Path) -> Iterator[str]:
    process, url = start_api(settings, {"API_OUTBOX_DIR": str(tmp_path / "outbox")}, tmp_path / "api.log")
    yield url
    stop(process)  # SIGTERM, grace, SIGKILL, always reaped
