"""``python -m api``: serve the HTTP API (``API_HOST``/``API_PORT``, ``API_WORKERS``)."""

from __future__ import annotations

import os
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from api.app import create_app
from api.settings import ApiSettings
from core.metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from core.process import start_process


def main() -> None:
    settings = start_process(ApiSettings, "api")
    if settings.workers > 1 or os.environ.get(MULTIPROC_ENV):  # one /metrics view across workers
        prepare_multiprocess_dir(os.environ.get(MULTIPROC_ENV))
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
