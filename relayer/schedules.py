"""The registry of scheduled jobs (the seeds' crons). Adding a job is one line here.

``job`` is the dotted path ``module:function`` of an ``async def job(ctx: JobContext) -> str``
(see ``relayer/jobs``); ``every`` its default interval in seconds, overridden per name by
``RELAYER_SCHEDULE_INTERVALS`` (JSON, ``0`` disables); ``catch_up`` runs every period missed
while no relayer was up (each accrual epoch counts) instead of only the latest one; ``trigger``
the dotted path of an ``async def due(ctx: JobContext) -> bool`` checked on every scheduler pass
that starts an extra run at once when true (e.g. "settle whenever N approved intents wait").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class Schedule:
    name: str
    job: str
    every: float
    catch_up: bool = False
    trigger: str | None = None


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("accrue", "relayer.jobs.accrue:accrue", DAY, catch_up=True),
    Schedule("end_auctions", "relayer.jobs.auctions:end_auctions", 60.0),
    Schedule("approve_pending", "relayer.jobs.intents:approve_pending", HOUR),
    Schedule(
        "settle_approved", "relayer.jobs.intents:settle_approved", 7 * DAY, trigger="relayer.jobs.intents:settle_due"
    ),
)


def resolve(path: str) -> Any:
    """The object a ``module:attribute`` path names."""
    module, _, attribute = path.partition(":")
    if not attribute:
        raise ValueError(f"{path!r} is not a 'module:function' path")
    return getattr(importlib.import_module(module), attribute)
