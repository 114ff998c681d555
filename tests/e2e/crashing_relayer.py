"""``python -m tests.e2e.crashing_relayer run``: the relayer with a crash point injected (test only).

The relayer calls its crash hook at named points (``relayer/base.py``) and production passes none.
This entry point injects one that exits abruptly at the point named by ``RELAYER_CRASH_AT`` — read
here, never by the relayer: ``after_send`` (a batch broadcast, the next one signed and committed but
maybe not sent) or ``after_mined`` (receipts read, outcomes not recorded). ``os._exit`` leaves the
process as a SIGKILL would: nothing after that point flushed or committed.
"""

from __future__ import annotations

import logging
import os

from relayer.__main__ import main
from relayer.base import CrashHook

CRASH_POINTS = ("after_send", "after_mined")
CRASH_EXIT_CODE = 86

log = logging.getLogger("relayer")


def exit_at(point: str) -> CrashHook:
    if point not in CRASH_POINTS:
        raise ValueError(f"RELAYER_CRASH_AT must be one of {CRASH_POINTS}")

    def hook(name: str) -> None:
        if name == point:
            log.warning("RELAYER_CRASH_AT=%s: exiting abruptly", name)
            os._exit(CRASH_EXIT_CODE)

    return hook


if __name__ == "__main__":
    main(crash_hook=exit_at(os.environ["RELAYER_CRASH_AT"]))
