"""``make up``: the whole stack in the foreground — anvil, stores, migrations, deploy, 3 processes.

Uses ``DATABASE_URL`` / ``REDIS_URL`` when set and reachable, otherwise embedded PostgreSQL and
Redis under ``var/``. Ctrl-C (or SIGTERM) stops every child and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg

from anvil.deploy import deploy
from anvil.node import CHAIN_ID, RELAYER_KEY, die_with_parent, start_anvil
from anvil.stores import Server, reachable, start_postgres, start_redis
from core.db.migrate import migrate
from core.settings import ROOT

log = logging.getLogger("up")
VAR = Path(os.environ.get("STACK_DIR", ROOT / "var"))  # state of `make up`: manifest, logs, embedded stores
PROCESSES = ("indexer", "relayer", "api")


def _with_database(url: str, database: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{database}"))


async def ensure_database(url: str) -> None:
    """Create the URL's database if the server has no such database yet."""
    database = urlparse(url).path.lstrip("/") or "postgres"
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f'CREATE DATABASE "{database}"')
            log.info("created database %s", database)
    finally:
        await admin.close()


class Stack:
    def __init__(self) -> None:
        self.embedded: list[Server] = []
        self.anvil: subprocess.Popen[bytes] | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def stores(self) -> tuple[str, str]:
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url and reachable(database_url):
            log.info("PostgreSQL: using DATABASE_URL (%s)", urlparse(database_url).hostname)
        else:
            if database_url:
                log.warning("DATABASE_URL is set but unreachable; starting embedded PostgreSQL instead")
            pg = start_postgres(VAR / "postgres", int(os.environ.get("EMBEDDED_PG_PORT", "55432")))
            self.embedded.append(pg)
            database_url = _with_database(pg.url, "creator")
            log.info("PostgreSQL: embedded, %s (data in var/postgres)", database_url)
        redis_url = os.environ.get("REDIS_URL", "")
        if redis_url and reachable(redis_url):
            log.info("Redis: using REDIS_URL")
        else:
            if redis_url:
                log.warning("REDIS_URL is set but unreachable; starting embedded Redis instead")
            redis = start_redis(VAR / "redis", int(os.environ.get("EMBEDDED_REDIS_PORT", "56379")))
            self.embedded.append(redis)
            redis_url = redis.url
            log.info("Redis: embedded, %s", redis_url)
        return database_url, redis_url

    def start(self) -> int:
        VAR.mkdir(exist_ok=True)
        anvil_port = int(os.environ.get("ANVIL_PORT", "8545"))
        rpc_url = f"http://127.0.0.1:{anvil_port}"
        if reachable(rpc_url):
            log.error("port %d is taken (another anvil?); stop it or set ANVIL_PORT", anvil_port)
            return 1
        database_url, redis_url = self.stores()
        asyncio.run(ensure_database(database_url))
        applied = asyncio.run(migrate(database_url))
        log.info("migrations: %d applied now", len(applied))
        self.anvil = start_anvil(anvil_port, log_path=VAR / "anvil.log")
        log.info("anvil: %s (chain id %d, log in %s)", rpc_url, CHAIN_ID, VAR / "anvil.log")
        manifest_path = VAR / "deployment.json"
        manifest = deploy(rpc_url, manifest_path)
        log.info("deployed %s; manifest at %s", ", ".join(manifest.contracts), manifest_path)
        api_port = os.environ.get("API_PORT", "8000")
        env = {
            **os.environ,
            "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RPC_URLS": rpc_url,
            "MANIFEST_PATH": str(manifest_path),
            "API_PORT": api_port,
            "PYTHONUNBUFFERED": "1",
        }
        env.setdefault("RELAYER_PRIVATE_KEY", RELAYER_KEY)
        for name in PROCESSES:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", name],
                env=env,
                cwd=ROOT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 (prctl only)
            )
        print(  # noqa: T201 (the banner is the point)
            f"\n  API        http://127.0.0.1:{api_port}  (/health /ready /metrics /api/balances/<address>)"
            f"\n  metrics    indexer http://127.0.0.1:{env.get('INDEXER_METRICS_PORT', '9101')}/metrics"
            f"  relayer http://127.0.0.1:{env.get('RELAYER_METRICS_PORT', '9102')}/metrics"
            f"\n  chain      {rpc_url}  (chain id {CHAIN_ID})"
            f"\n  database   {database_url}\n  redis      {redis_url}\n  Ctrl-C stops everything.\n",
            flush=True,
        )
        return self.supervise()

    def supervise(self) -> int:
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping the stack", name, child.returncode)
                    return 1
            if self.anvil is not None and self.anvil.poll() is not None:
                log.error("anvil exited; stopping the stack")
                return 1
            time.sleep(0.3)
        return 0

    def stop(self) -> None:
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, child in self.children.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", name)
                child.kill()
                child.wait()
        if self.anvil is not None and self.anvil.poll() is None:
            self.anvil.terminate()
            self.anvil.wait(10)
        for store in reversed(self.embedded):
            store.stop()
        log.info("stopped")


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s up      %(levelname)-5s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    stack = Stack()

    def on_signal(signum: int, frame: object) -> None:
        stack.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 1
    try:
        code = stack.start()
    except Exception:
        log.exception("the stack failed to start")
    finally:
        stack.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
