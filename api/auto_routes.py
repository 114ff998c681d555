"""One signal-router build for sanic-ext's automatic HEAD and OPTIONS routes.

sanic-ext adds those routes when the server starts, one ``add_route`` per path. In Sanic 25.12 each
route added to a started app rebuilds the signal router, and each rebuild adds one more (blank) route
to it, so start-up grows with the square of the routes: about 210 additions here took over 2 minutes
of CPU on a loaded machine, past Sanic's 30 s worker-acknowledgement limit. The signal router is
un-finalized just before sanic-ext's listener (nothing is dispatched in between) and built once after.
"""

from __future__ import annotations

from sanic import Sanic
from sanic_ext.config import PRIORITY


def _pause_signal_router(app: Sanic) -> None:
    app.signal_router.reset()


def _finalize_signal_router(app: Sanic) -> None:
    app.signalize(bool(app.config.TOUCHUP))


def build_signals_once(app: Sanic) -> None:
    app.register_listener(_pause_signal_router, "before_server_start", priority=PRIORITY + 1)
    app.register_listener(_finalize_signal_router, "before_server_start", priority=PRIORITY - 1)
