"""``python -m api``: serve the HTTP API (``API_HOST``/``API_PORT``, ``API_WORKERS``)."""

from __future__ import annotations

import sys
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from api.app import create_app
from core.logging import setup_logging
from core.settings import ApiSettings


def main() -> None:
    try:
        settings = ApiSettings()
    except ValueError as exc:
        print(f"api: invalid configuration: {exc}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    setup_logging("api", settings.log_level)
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        motd=False,
        single_process=settings.workers == 1,
    )
    Sanic.serve(primary=app, app_loader=loader) if settings.workers > 1 else Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
