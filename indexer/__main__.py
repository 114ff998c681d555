"""``python -m indexer``: index the manifest's contracts into Postgres.

run                      backfill, then follow the head (default)
backfill [--from A] [--to B]  index A..B (default: checkpoint..head) and exit
status                   checkpoint, head, lag, row counts
replay                   rebuild every projection (and configured contract's table) from the raw log (no RPC)
verify                   compare projections with chain reads at the indexed block; exit 1 on mismatch
migrate                  apply database migrations
projections status|upgrade  versioned projections: show, or build beside and swap (README "Upgrading projections")

--config FILE            index the contracts of FILE alone (INDEXER_CONTRACTS_PATH=FILE INDEXER_MODE=standalone):
                         no manifest, only the indexer's tables (README "Indexing any contract")

A configuration error (bad TOML, unknown event, another chain, unreachable node) prints one line
`error: ...` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
import time

from core.db.migrate import migrate
from core.db.outage import when_available
from core.errors import AppError, ConfigError
from core.metrics import serve_metrics
from core.process import start_process
from indexer.leading import run_as_leader
from indexer.realtime import ws_url_for
from indexer.runtime import Runtime
from indexer.settings import IndexerSettings
from indexer.store import QUERIES
from indexer.upgrade.cli import check_at_start, cmd_projections, definitions
from indexer.verify import verify

log = logging.getLogger("indexer")


def _ws_url(settings: IndexerSettings) -> str | None:
    if settings.ws_url.lower() in ("", "none", "off"):
        return None
    return ws_url_for(settings.rpc_urls[0]) if settings.ws_url == "auto" else settings.ws_url


async def cmd_run(settings: IndexerSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime = Runtime(settings)  # a bad configuration fails before anything is migrated or opened
    owners = settings.migration_owners
    await when_available(lambda: migrate(settings.database_url, owners=owners), "migrations", stop)  # mid-outage: wait
    async with runtime as rt:
        await check_at_start(rt.pool, definitions(rt.manifest))  # a changed projection is named, not rebuilt
        await run_as_leader(rt.indexer, rt.lock, stop, settings.poll_interval, _ws_url(settings))
    log.info("indexer stopped")
    return 0


async def cmd_backfill(settings: IndexerSettings, start: int | None, to: int | None) -> int:
    runtime = Runtime(settings)
    await migrate(settings.database_url, owners=settings.migration_owners)
    async with runtime as rt:
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
            if rt.custom is not None:
                await rt.custom.ensure_tables(conn)
                replayed += await rt.custom.replay(conn, rt.manifest.chain_id)
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
    parser.add_argument("--config", help="index only the contracts of this TOML (the indexer on its own)")
    args = parser.parse_args()
    if args.config:
        os.environ["INDEXER_CONTRACTS_PATH"], os.environ["INDEXER_MODE"] = args.config, "standalone"
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
            asyncio.run(migrate(settings.database_url, owners=settings.migration_owners))
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
    except ConfigError as exc:  # one line, no traceback: the operator fixes the configuration
        print("error: " + " ".join(exc.message.split()), file=sys.stderr)  # noqa: T201 (CLI output)
        code = 2
    except AppError as exc:
        log.error("%s", exc.message)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
