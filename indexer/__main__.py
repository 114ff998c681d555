"""``python -m indexer [run|migrate]``: index the manifest's contracts into Postgres."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from core.chain.manifest import load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.migrate import migrate
from core.logging import setup_logging
from core.metrics import serve_metrics
from core.settings import IndexerSettings
from indexer.app import Indexer, run_as_leader
from indexer.projections import Projections
from indexer.store import QUERIES, LeaderLock, Store

log = logging.getLogger("indexer")


async def run(settings: IndexerSettings) -> None:
    manifest = load_manifest(settings.manifest_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await migrate(settings.database_url)
    pool = await create_pool(settings.database_url, max_size=4)
    rpc = RpcClient(settings.rpc_urls)
    lock = LeaderLock(settings.database_url, manifest.chain_id)
    try:
        store = Store(pool, manifest.chain_id, Projections.from_manifest(manifest, QUERIES))
        indexer = Indexer(
            manifest, store, rpc, max_block_range=settings.max_block_range, finality_depth=settings.finality_depth
        )
        await run_as_leader(indexer, lock, stop, settings.poll_interval)
    finally:
        await lock.release()
        await rpc.close()
        await pool.close()
        log.info("indexer stopped")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate"])
    args = parser.parse_args()
    settings = IndexerSettings()
    setup_logging("indexer", settings.log_level)
    if args.command == "migrate":
        asyncio.run(migrate(settings.database_url))
        return
    serve_metrics(settings.metrics_port)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
