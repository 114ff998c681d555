"""``python -m indexer``: index the manifest's contracts into Postgres.

run                      backfill, then follow the head (default)
backfill [--from A] [--to B]  index A..B (default: checkpoint..head) and exit
status                   checkpoint, head, lag, row counts
replay                   rebuild every projection from the raw event log (no RPC)
verify                   compare projections with chain reads at the indexed block; exit 1 on mismatch
migrate                  apply database migrations
projections status|upgrade  versioned projections: show, or build beside and swap (README "Upgrading projections")
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import signal
import sys
import time

import asyncpg

from core.chain.manifest import Manifest, load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.migrate import migrate
from core.db.outage import when_available
from core.errors import AppError
from core.metrics import serve_metrics
from core.process import start_process
from indexer.app import Indexer
from indexer.custom import custom_store
from indexer.leading import run_as_leader
from indexer.projections import Projections
from indexer.realtime import ws_url_for
from indexer.settings import IndexerSettings
from indexer.store import QUERIES, Store, indexer_lock
from indexer.upgrade.cli import check_at_start, cmd_projections, definitions
from indexer.verify import verify

log = logging.getLogger("indexer")


class Runtime:
    """The resources one command needs, opened and closed together."""

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        self.manifest: Manifest = load_manifest(settings.manifest_path)
        self.projections = Projections.from_manifest(self.manifest, QUERIES)
        self.custom = custom_store(settings.contracts_path, self.manifest)

    async def __aenter__(self) -> Runtime:
        self.pool: asyncpg.Pool = await create_pool(self.settings.database_url, max_size=4, fast_numeric=True)
        self.rpc = RpcClient(self.settings.rpc_urls, batch_size=self.settings.rpc_batch_size)
        self.store = Store(self.pool, self.manifest.chain_id, self.projections, self.custom)
        self.indexer = Indexer(
            self.manifest,
            self.store,
            self.rpc,
            max_block_range=self.settings.max_block_range,
            finality_depth=self.settings.finality_depth,
            fetch_worker=self.settings.fetch_worker,
        )
        self.lock = indexer_lock(self.settings.database_url, self.manifest.chain_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.lock.release()
        await self.rpc.close()
        await self.pool.close()

    async def exclusive(self) -> None:
        """Take the chain's writer lock or fail: one-shot writers never race the running indexer."""
        if not await self.lock.try_acquire():
            raise AppError("another indexer holds the writer lock for this chain; stop it first")


def _ws_url(settings: IndexerSettings) -> str | None:
    if settings.ws_url.lower() in ("", "none", "off"):
        return None
    return ws_url_for(settings.rpc_urls[0]) if settings.ws_url == "auto" else settings.ws_url


async def cmd_run(settings: IndexerSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await when_available(lambda: migrate(settings.database_url), "migrations", stop)  # started mid-outage: wait
    async with Runtime(settings) as rt:
        await check_at_start(rt.pool, definitions(rt.manifest))  # a changed projection is named, not rebuilt
        await run_as_leader(rt.indexer, rt.lock, stop, settings.poll_interval, _ws_url(settings))
    log.info("indexer stopped")
    return 0


async def cmd_backfill(settings: IndexerSettings, start: int | None, to: int | None) -> int:
    await migrate(settings.database_url)
    async with Runtime(settings) as rt:
        await rt.exclusive()
        await rt.indexer.prepare()
        checkpoint = await rt.store.checkpoint()
        if start is not None:
            if checkpoint is not None and start > checkpoint.number + 1:
                raise AppError(f"--from {start} would leave a gap after the checkpoint at {checkpoint.number}")
            rt.indexer.start_block = start
        target = to if to is not None else await rt.rpc.block_number()
        started, total = time.monotonic(), 0
        while True:
            # Pipelined ranges; after a reorg, block-by-block handling until the pipeline can resume.
            written = await rt.indexer.backfill(target) or await rt.indexer.sync_once(target)
            total += written
            checkpoint = await rt.store.checkpoint()
            if (checkpoint is not None and checkpoint.number >= target) or not written:
                break
        log.info("backfill done: %d blocks in %.1fs; checkpoint %s", total, time.monotonic() - started, checkpoint)
    return 0


async def cmd_status(settings: IndexerSettings) -> int:
    async with Runtime(settings) as rt:
        checkpoint = await rt.store.checkpoint()
        head = await rt.rpc.block_number()
        counts = {
            table: await rt.pool.fetchval(f"SELECT count(*) FROM {table} WHERE chain_id = $1", rt.manifest.chain_id)
            for table in ("chain_events", "token_transfers", "token_balances", "token_mints")
        }
        leader = await rt.lock.try_acquire()
        status = {
            "chain_id": rt.manifest.chain_id,
            "head": head,
            "indexed_block": checkpoint.number if checkpoint else None,
            "indexed_hash": checkpoint.hash if checkpoint else None,
            "lag": head - checkpoint.number if checkpoint else None,
            "writer_running": not leader,
            "rows": counts,
            # logs stored raw because they could not be decoded (never skipped): per contract
            "undecodable": {
                r["contract"]: r["n"] for r in await rt.pool.fetch(QUERIES.undecodable_counts, rt.manifest.chain_id)
            },
        }
        print(json.dumps(status, indent=2))  # noqa: T201 (CLI output)
    return 0


async def cmd_replay(settings: IndexerSettings) -> int:
    async with Runtime(settings) as rt:
        await rt.exclusive()
        started = time.monotonic()
        async with rt.pool.acquire() as conn, conn.transaction():
            replayed = await rt.projections.rebuild(conn, rt.manifest.chain_id)
        log.info("replayed %d events into fresh projections in %.1fs", replayed, time.monotonic() - started)
    return 0


async def cmd_verify(settings: IndexerSettings) -> int:
    async with Runtime(settings) as rt:
        report = await verify(rt.pool, rt.rpc, rt.manifest, rt.projections, rt.custom.sources if rt.custom else None)
    for note in report.notes:
        log.warning("note: %s", note)
    for mismatch in report.mismatches:
        log.error("mismatch: %s", mismatch)
    log.info(
        "verify at block %s (%s): %d checks, %d mismatches",
        report.block,
        report.block_hash,
        report.checked,
        len(report.mismatches),
    )
    return 0 if report.ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m indexer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "backfill", "status", "replay", "verify", "migrate", "projections"],
    )
    parser.add_argument("action", nargs="?", default="status", help="projections: status or upgrade")
    parser.add_argument("--keep", type=int, default=0, help="projections upgrade: old versions kept for rollback")
    parser.add_argument("--from", dest="start", type=int, help="backfill: first block, when nothing is indexed yet")
    parser.add_argument("--to", type=int, help="backfill: last block to index (default: the head)")
    args = parser.parse_args()
    settings = start_process(IndexerSettings, "indexer")
    # Batches are hundreds of thousands of short-lived, acyclic objects (parsed logs, decoded
    # args, rows): with the default threshold (700) the collector runs every few hundred of
    # them and its full passes walk the queued batches again and again (~20 % of the fetch
    # worker's CPU). Modules loaded so far are frozen out of those passes; cycles are still
    # collected, less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        if args.command == "migrate":
            asyncio.run(migrate(settings.database_url))
            code = 0
        elif args.command == "run":
            serve_metrics(settings.metrics_port, settings.metrics_host)
            code = asyncio.run(cmd_run(settings))
        elif args.command == "projections":
            code = asyncio.run(cmd_projections(settings, args.action, args.keep))
        elif args.command == "backfill":
            code = asyncio.run(cmd_backfill(settings, args.start, args.to))
        else:
            code = asyncio.run(
                {"status": cmd_status, "replay": cmd_replay, "verify": cmd_verify}[args.command](settings)
            )
    except AppError as exc:
        log.error("%s", exc.message)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
