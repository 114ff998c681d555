"""`make up`'s orchestrator: starts everything with the given stores, serves, and leaves no orphan on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from anvil.node import free_port
from core.settings import ROOT
from tests.conftest import REDIS_URL


def test_up_serves_and_stops_cleanly(db_url: str, tmp_path: Path) -> None:
    api_port, anvil_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "STACK_DIR": str(tmp_path),
        "ANVIL_PORT": str(anvil_port),
        "API_PORT": str(api_port),
        "INDEXER_METRICS_PORT": str(free_port()),
        "RELAYER_METRICS_PORT": str(free_port()),
    }
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log_file:
        up = subprocess.Popen([sys.executable, "-m", "anvil.up"], env=env, cwd=ROOT, stdout=log_file, stderr=log_file)
    try:
        deadline = time.monotonic() + 240  # first start: embedded PostgreSQL, deploy, three processes
        ready = None
        while time.monotonic() < deadline and up.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/ready", timeout=2) as r:
                    ready = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert ready is not None and ready["success"] is True, log_path.read_text()[-3000:]
        manifest = json.loads((tmp_path / "deployment.json").read_text())
        assert manifest["chain_id"] == 31337 and "Coin" in manifest["contracts"]
        descendants = psutil.Process(up.pid).children(recursive=True)
        assert len(descendants) >= 4  # anvil + indexer + relayer + api
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(30)
    assert code == 0, log_path.read_text()[-3000:]
    _, alive = psutil.wait_procs(descendants, timeout=5)
    assert not alive, f"orphans left behind: {[p.pid for p in alive]}"
    assert "Traceback" not in log_path.read_text()
