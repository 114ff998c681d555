"""``python -m relayer``: run the sender, or inspect and steer the request queue.

run                         send and confirm queued requests (default)
status                      request counts by status
requests list [--status S]  recent requests
requests show ID            one request with its status history
requests retry ID           put a failed/dead request back in the queue
requests cancel ID          cancel a request: a pending one at once; a submitted one is replaced by a
                            zero-value self-transaction at its nonce (by the running relayer)
schedules [--job J]         recent schedule runs (job, period, status, summary)
enqueue-mint TO AMOUNT REF  queue a mint (REF: the payment's 32-byte hex reference)
enqueue KIND KEY JSON       queue any kind (accrue, end_auction, settle, burn_pass, withdraw_for, mint)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from core.chain.manifest import load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.db.migrate import migrate
from core.db.outage import when_available
from core.errors import AppError
from core.metrics import serve_metrics
from core.process import start_process
from core.queue import mint_key
from relayer.app import Relayer
from relayer.base import CrashHook, no_crash
from relayer.jobs import JobContext
from relayer.keys import load_pool, load_signer
from relayer.scheduler import Scheduler
from relayer.settings import RelayerSettings
from relayer.store import RelayerStore

log = logging.getLogger("relayer")


async def run(settings: RelayerSettings, crash_hook: CrashHook = no_crash) -> None:
    manifest = load_manifest(settings.manifest_path)
    account, others = load_signer(settings), load_pool(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await when_available(lambda: migrate(settings.database_url), "migrations", stop)  # started mid-outage: wait
    pool = await when_available(lambda: create_pool(settings.database_url, max_size=4), "the pool", stop)
    rpc = RpcClient(settings.rpc_urls, batch_size=settings.rpc_batch_size)
    try:
        relayer = Relayer(
            manifest,
            RelayerStore(pool),
            rpc,
            account,
            pool=others,
            max_pending_per_key=settings.max_pending_per_key,
            confirmations=settings.confirmations,
            max_attempts=settings.max_attempts,
            stuck_blocks=settings.stuck_blocks,
            stuck_seconds=settings.stuck_seconds,
            max_fee_gwei=settings.max_fee_gwei,
            send_batch=settings.send_batch,
            confirm_batch=settings.confirm_batch,
            crash_hook=crash_hook,
            finality_blocks=settings.finality_blocks,
        )
        ctx = JobContext(pool, rpc, manifest, settings, relayer.store, manifest.chain_id)
        scheduler = Scheduler(ctx, settings.database_url, poll_interval=settings.poll_interval)
        await asyncio.gather(relayer.run(stop, settings.poll_interval), scheduler.run(stop))
    finally:
        await rpc.close()
        await pool.close()
        log.info("relayer stopped")


def _print(value: object) -> None:
    print(json.dumps(value, indent=2, default=str))  # noqa: T201 (CLI output)


async def admin(settings: RelayerSettings, args: argparse.Namespace) -> int:
    pool = await create_pool(settings.database_url, max_size=2)
    store = RelayerStore(pool)
    try:
        if args.command == "status":
            _print(await store.status_counts())
        elif args.command == "enqueue-mint":
            payload = {"to": args.to, "amount": args.amount, "payment_ref": args.payment_ref}
            _print({"id": await store.enqueue("mint", mint_key(args.payment_ref.lower()), payload)})
        elif args.command == "enqueue":
            _print({"id": await store.enqueue(args.kind, args.key, json.loads(args.payload))})
        elif args.command == "schedules":
            _print([dict(r) for r in await pool.fetch(store.q.schedule_runs, args.job, args.limit)])
        elif args.action == "list":
            _print([dict(r) for r in await store.list(args.status, args.limit)])
        elif args.action == "show":
            row = await store.get(args.id)
            if row is None:
                print(f"no request {args.id}", file=sys.stderr)  # noqa: T201
                return 1
            _print(dict(row))
        elif args.action == "retry":
            done = await store.retry(args.id)
            _print({"id": args.id, "retry": done})
            return 0 if done else 1
        elif args.action == "cancel":
            outcome = await store.cancel(args.id)
            _print({"id": args.id, "cancel": outcome})
            return 0 if outcome in ("cancelled", "cancel_requested") else 1
        return 0
    finally:
        await pool.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m relayer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run")
    sub.add_parser("status")
    requests = sub.add_parser("requests").add_subparsers(dest="action", required=True)
    listing = requests.add_parser("list")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=50)
    for action in ("show", "retry", "cancel"):
        requests.add_parser(action).add_argument("id", type=int)
    schedules = sub.add_parser("schedules")
    schedules.add_argument("--job")
    schedules.add_argument("--limit", type=int, default=50)
    mint = sub.add_parser("enqueue-mint")
    mint.add_argument("to")
    mint.add_argument("amount")
    mint.add_argument("payment_ref")
    generic = sub.add_parser("enqueue")
    generic.add_argument("kind")
    generic.add_argument("key", help="idempotency key (a business key: epoch, auction id, ...)")
    generic.add_argument("payload", help="the payload as JSON")
    args = parser.parse_args(argv)
    args.command = args.command or "run"
    return args


def main(crash_hook: CrashHook = no_crash) -> None:
    """The command line; ``crash_hook`` is for the crash tests' entry point (``tests/e2e/crashing_relayer.py``)."""
    args = parse()
    settings = start_process(RelayerSettings, "relayer")
    try:
        if args.command == "run":
            serve_metrics(settings.metrics_port, settings.metrics_host)
            asyncio.run(run(settings, crash_hook))
        else:
            sys.exit(asyncio.run(admin(settings, args)))
    except AppError as exc:
        log.error("%s", exc.message)
        sys.exit(1)


if __name__ == "__main__":
    main()
