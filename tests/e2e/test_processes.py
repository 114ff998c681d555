"""The three real entry points, as separate processes, move a mint from the queue to the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from anvil.node import free_port
from core.settings import ROOT
from tests.conftest import REDIS_URL
from tests.integration.helpers import new_ref


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own local server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def stack(
    db_url: str, chain: str, manifest_path: Path, relayer_key: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    api_port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "RPC_URLS": chain,
        "MANIFEST_PATH": str(manifest_path),
        "RELAYER_PRIVATE_KEY": relayer_key,
        "API_PORT": str(api_port),
        "INDEXER_METRICS_PORT": str(free_port()),
        "RELAYER_METRICS_PORT": str(free_port()),
        "INDEXER_POLL_INTERVAL": "0.1",
        "RELAYER_POLL_INTERVAL": "0.1",
    }
    logs = {name: tmp_path / f"{name}.log" for name in ("indexer", "relayer", "api")}
    children = {}
    for name, log_path in logs.items():
        with log_path.open("wb") as log_file:  # the child keeps its own descriptor
            children[name] = subprocess.Popen([sys.executable, "-m", name], env=env, cwd=ROOT, stderr=log_file)
    base = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + 180  # a loaded machine starts slowly
    while True:
        try:
            if _get(f"{base}/ready")[0] == 200:
                break
        except OSError:
            pass
        dead = [n for n, c in children.items() if c.poll() is not None]
        assert not dead and time.monotonic() < deadline, f"not ready; exited: {dead}"
        time.sleep(0.2)
    yield base, env
    for child in children.values():
        child.send_signal(signal.SIGTERM)
    for name, child in children.items():
        try:
            code = child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            pytest.fail(f"{name} ignored SIGTERM")
        stderr = logs[name].read_text()
        assert code == 0, f"{name} exited {code}:\n{stderr[-2000:]}"
        assert "Traceback" not in stderr, stderr[-2000:]


def test_processes_index_a_queued_mint(stack: tuple[str, dict[str, str]]) -> None:
    base, env = stack
    fan = Account.create().address
    enqueue = subprocess.run(
        [sys.executable, "-m", "relayer", "enqueue-mint", fan, "4200", new_ref()],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert enqueue.returncode == 0, enqueue.stderr
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status, body = _get(f"{base}/api/balances/{fan}")
        assert status == 200
        balances = body["data"]["balances"]  # type: ignore[index]
        if balances[0]["balance"] == "4200":
            assert body["data"]["indexed_block"]["number"] >= balances[0]["updated_block"]  # type: ignore[index]
            return
        time.sleep(0.2)
    pytest.fail("the mint never showed up in the API")
