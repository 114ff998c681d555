"""Start ``python -m api`` as a child process and wait until it answers ``/health`` (tests, benchmarks)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.settings import ROOT


def spawn_api(env: dict[str, str], log: Path, *, timeout: float = 180.0) -> tuple[subprocess.Popen[bytes], str]:
    """The API with ``env`` (which names ``API_PORT``; ``API_HOST`` defaults to 127.0.0.1), its output appended
    to ``log`` (a pipe nobody reads could fill up). Returns the process and its base URL once ``/health`` answers
    200; raises RuntimeError with the log's tail if it exits first or does not answer within ``timeout``."""
    url = f"http://{env.get('API_HOST', '127.0.0.1')}:{env['API_PORT']}"
    with log.open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "api"], cwd=ROOT, env=env, stderr=sink, stdout=sink)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait(10)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the API did not answer /health within {timeout:.0f} s: {tail}")
