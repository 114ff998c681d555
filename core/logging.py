"""Readable, one-line logs for the three processes."""

from __future__ import annotations

import logging
import sys


def setup_logging(process: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {process:<7} %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "asyncio", "web3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
