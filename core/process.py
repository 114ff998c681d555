"""What every process's ``__main__`` does first: validated settings, then logging."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError

from core.logging import setup_logging
from core.settings import SharedSettings

S = TypeVar("S", bound=SharedSettings)


def describe(exc: ValidationError) -> str:
    """The errors without the input values: settings carry secrets that must never be printed."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)


def start_process(settings_class: type[S], process: str) -> S:
    """Build the process's settings (exit 2 with the reason if invalid) and set up its logs."""
    try:
        settings = settings_class()
    except ValidationError as exc:
        print(f"{process}: invalid configuration: {describe(exc)}", file=sys.stderr)  # noqa: T201 (no logging yet)
        sys.exit(2)
    setup_logging(process, settings.log_level, json=settings.json_logs)
    return settings
