"""Stopping a child process in a test's teardown without leaving it behind."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], grace: float = 30) -> int:
    """SIGTERM, up to ``grace`` seconds (a loaded machine stops slowly), then SIGKILL; always reaped, so that
    no later test inherits it (or its ResourceWarning)."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(10)
