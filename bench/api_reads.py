"""API read benchmark: wrk against ``python -m api`` (2 workers) on a database of >= 100,000 events.

``python -m bench.api_reads [--events 100000] [--accounts 10000] [--duration 15] [--connections 64]``

Builds its own database (migrated, then filled by COPY with synthetic ERC-20 ``Transfer``
events: ``chain_events`` + ``token_transfers`` + ``token_balances`` + checkpoint), writes a
manifest for it, starts the API with ``API_WORKERS=2`` and runs wrk (Debian: ``apt-get install
-y wrk``) over random accounts on:

- ``GET /api/balances/{address}`` (the hot read, cached in Redis per indexed block), with the
  general rate limiter off and then on (a limit too high to trip, so each request pays its
  Redis round trip);
- ``GET /api/auctions/active`` (first pages of the open auctions, cached per indexed block),
  with the limiter off and on;
- ``GET /api/transfers?account=…&limit=20`` (a cursor page straight from Postgres).

Besides the transfers, the database holds ``--auctions`` auctions (half of them open at the
indexed block's time) with ``--bids`` bids, as ``chain_events`` rows and projections.

Prints req/s and latency p50/p99 per case. wrk and the API share the machine's cores.
Needs PostgreSQL at ``BENCH_DATABASE_URL`` and Redis at ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from redis.asyncio import Redis

from anvil.node import free_port
from api.launch import spawn_api
from api.reads.service import encode_cursor
from core.chain.manifest import DeployedContract, Manifest, load_artifact, write_manifest
from core.db import create_pool
from core.db.migrate import migrate

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CHAIN_ID = 31337
COIN = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
ENGAGEMENT = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
AUCTION = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
HEAD_TIME = 1_800_000_000  # chain time of the indexed block
PER_BLOCK = 10


def dsn_for(name: str) -> str:
    return ADMIN_DSN.rpartition("/")[0] + "/" + name


def address(i: int) -> str:
    return "0x" + f"{i + 1:040x}"


def auction_rows(
    auctions: int, bids: int, accounts: int, first_block: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """chain_events, auctions and bids rows: auction i ends before (odd i) or after the head's time."""
    rng = random.Random(5)
    events: list[tuple[Any, ...]] = []
    state: dict[int, list[Any]] = {}
    bid_rows: list[tuple[Any, ...]] = []
    block = first_block
    for i in range(1, auctions + 1):
        seller, end = address(rng.randrange(accounts)), HEAD_TIME + (rng.randrange(1, 86_400) * (-1 if i % 2 else 1))
        args = {"auction_id": i, "seller": seller, "reserve": 100, "end_time": end, "fee_bps": 500, "metadata": "m"}
        events.append((CHAIN_ID, block, f"0x{block:064x}", f"0x{block:064x}", 0, AUCTION, "MeetingAuction",
                       "AuctionCreated", args))  # fmt: skip
        state[i] = [seller, end, None, 0, 0, block]
        block += 1
    for n in range(bids):
        i = rng.randrange(1, auctions + 1)
        bidder, (previous, amount) = address(rng.randrange(accounts)), (state[i][2], state[i][3])
        new_amount = max(100, amount * 2)
        tx = f"0x{block:064x}"
        args = {"auction_id": i, "bidder": bidder, "amount": new_amount, "previous_bidder": previous or "0x" + "0" * 40,
                "previous_amount": amount}  # fmt: skip
        events.append((CHAIN_ID, block, tx, tx, n % 10, AUCTION, "MeetingAuction", "BidPlaced", args))
        bid_rows.append((CHAIN_ID, block, n % 10, i, bidder, new_amount, previous, amount if previous else None, tx))
        state[i][2:6] = [bidder, new_amount, state[i][4] + 1, block]
        block += 1 if n % 10 == 9 else 0
    auction_table = [
        (CHAIN_ID, i, seller, 100, end, 500, "m", "active", bidder, top, count, first_block + i - 1, updated)
        for i, (seller, end, bidder, top, count, updated) in state.items()
    ]
    return events, auction_table, bid_rows


async def build_database(
    name: str, events: int, accounts: int, auctions: int, bids: int
) -> tuple[int, list[tuple[int, int]]]:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(dsn_for(name))
    rng = random.Random(7)
    zero = "0x" + "0" * 40
    balances: dict[str, int] = {}
    ev_rows: list[tuple[Any, ...]] = []
    tr_rows: list[tuple[Any, ...]] = []
    for n in range(events):
        block, log_index = 1 + n // PER_BLOCK, n % PER_BLOCK
        receiver = address(rng.randrange(accounts))
        sender = zero if n < accounts * 2 else address(rng.randrange(accounts))
        amount = rng.randrange(1, 1000)
        if sender != zero and balances.get(sender, 0) < amount:
            sender = zero  # keep every balance non-negative: mint instead
        balances[receiver] = balances.get(receiver, 0) + amount
        if sender != zero:
            balances[sender] -= amount
        tx = f"0x{n:064x}"
        args = {"sender": sender, "receiver": receiver, "value": str(amount)}
        ev_rows.append((CHAIN_ID, block, f"0x{block:064x}", tx, log_index, COIN, "Coin", "Transfer", args))
        tr_rows.append((CHAIN_ID, block, log_index, COIN, sender, receiver, amount, tx))
    head = 1 + (events - 1) // PER_BLOCK
    auction_events, auction_table, bid_rows = auction_rows(auctions, bids, accounts, head + 1)
    ev_rows += auction_events
    head = max(int(str(r[1])) for r in ev_rows)
    pool = await create_pool(dsn_for(name), min_size=1, max_size=1)  # its binary jsonb codec serves COPY
    try:
        async with pool.acquire() as conn:
            await conn.copy_records_to_table(
                "chain_events",
                records=ev_rows,
                columns=["chain_id", "block_number", "block_hash", "tx_hash", "log_index", "address", "contract", "event",
                         "args"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "token_transfers",
                records=tr_rows,
                columns=["chain_id", "block_number", "log_index", "token", "sender", "receiver", "amount", "tx_hash"],
            )
            await conn.copy_records_to_table(
                "token_balances",
                records=[(CHAIN_ID, COIN, a, b, head) for a, b in balances.items()],
                columns=["chain_id", "token", "account", "balance", "updated_block"],
            )
            await conn.copy_records_to_table(
                "auctions",
                records=auction_table,
                columns=["chain_id", "auction_id", "seller", "reserve", "end_time", "fee_bps", "metadata", "status",
                         "highest_bidder", "highest_bid", "bid_count", "created_block", "updated_block"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "bids",
                records=bid_rows,
                columns=["chain_id", "block_number", "log_index", "auction_id", "bidder", "amount", "previous_bidder",
                         "previous_amount", "tx_hash"],
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO indexed_blocks (chain_id, number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4, $5)",
                CHAIN_ID, head, f"0x{head:064x}", f"0x{head - 1:064x}", HEAD_TIME,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)",
                CHAIN_ID,
                head,
                f"0x{head:064x}",
            )
            await conn.execute("ANALYZE")
            count = await conn.fetchval("SELECT count(*) FROM chain_events")
    finally:
        await pool.close()
    open_auctions = sorted((int(str(r[4])), int(str(r[1]))) for r in auction_table if int(str(r[4])) > HEAD_TIME)
    return int(count), open_auctions


def write_bench_manifest(path: Path) -> None:
    contracts = {
        name: DeployedContract(address=addr, abi=load_artifact(name)["abi"], deploy_block=0)
        for name, addr in (("Coin", COIN), ("Engagement", ENGAGEMENT), ("MeetingAuction", AUCTION))
    }
    write_manifest(Manifest(chain_id=CHAIN_ID, genesis_hash="0x" + "0" * 64, deploy_block=0, contracts=contracts), path)


def start_api(
    db: str, manifest: Path, port: int, rate_general: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    env.update({
        "API_DATABASE_URL": dsn_for(db), "API_REDIS_URL": REDIS_URL, "API_MANIFEST_PATH": str(manifest),
        "API_PORT": str(port), "API_WORKERS": "2", "API_RATE_GENERAL": rate_general, "API_RPC_URLS": "http://127.0.0.1:1",
        "LOG_LEVEL": "WARNING", **(extra or {}),
    })  # fmt: skip
    try:
        process, _ = spawn_api(env, Path(tempfile.mkstemp(prefix=f"api-{port}-", suffix=".log")[1]), timeout=120)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc
    time.sleep(1.0)  # both workers up
    return process


def wrk(
    url: str, paths: list[str], duration: int, connections: int, tokens: list[str] | None = None
) -> dict[str, float]:
    """wrk over ``paths`` picked at random; with ``tokens``, path i is sent with ``Bearer tokens[i]``."""
    script = (
        "paths = {"
        + ",".join(json.dumps(p) for p in paths)
        + "}\ntokens = {"
        + ",".join(json.dumps(f"Bearer {t}") for t in tokens or [])
        + "}\n"
        + (
            "request = function()\n  local i = math.random(#paths)\n"
            "  if #tokens > 0 then return wrk.format('GET', paths[i], {Authorization = tokens[i]}) end\n"
            "  return wrk.format('GET', paths[i])\nend\n"
            "response = function(status, headers, body)\n  if status ~= 200 then errors_non200 = true end\nend\n"
        )
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        [shutil.which("wrk") or "/usr/bin/wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", handle.name, url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    os.unlink(handle.name)

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "non2xx": float(non2xx.group(1)) if non2xx else 0.0}


Case = tuple[str, list[str], list[str] | None]  # label, paths (picked at random), bearer tokens (path i: token i)


def run_cases(
    db: str, cases: list[Case], duration: int, connections: int, secret: str
) -> list[tuple[str, dict[str, float]]]:
    """``python -m api`` (2 workers) on ``db`` and wrk over each case (3 s warm-up first), one line printed a
    case; a case with non-2xx answers stops the run (its figures would be of errors). Returns the results."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "deployment.json"
        write_bench_manifest(manifest)
        asyncio.run(flush_redis())
        port = free_port()
        process = start_api(db, manifest, port, "0", {"API_JWT_SECRET": secret, "API_ENVIRONMENT": "test"})
        try:
            url = f"http://127.0.0.1:{port}"
            for label, paths, bearer in cases:
                wrk(url, paths, 3, connections, bearer)  # warm-up: pools, prepared statements, page cache
                r = wrk(url, paths, duration, connections, bearer)
                if r["non2xx"]:
                    raise SystemExit(f"{label}: {r['non2xx']:.0f} answers were not 2xx: the figures would be of errors")
                print(f"{label:50s} {r['rps']:8,.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
                      f"   load {os.getloadavg()[0]:.1f}")  # fmt: skip
                results.append((label, r))
        finally:
            process.terminate()
            process.wait(15)
    return results


def api_cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) of the API's processes (the main one and its workers) so far."""
    root = psutil.Process(process.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


async def prewarm(url: str, paths: list[str]) -> None:
    """Each distinct path once (16 at a time), so the measured run reads the caches, not a cold database."""
    semaphore = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one(path: str) -> None:
            async with semaphore:
                (await client.get(path)).raise_for_status()

        await asyncio.gather(*(one(p) for p in sorted(set(paths))))


async def flush_redis() -> None:
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--auctions", type=int, default=2_000)
    parser.add_argument("--bids", type=int, default=10_000)
    parser.add_argument("--only", default="", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    db = f"bench_api_{os.getpid()}"
    started = time.perf_counter()
    count, open_auctions = asyncio.run(build_database(db, args.events, args.accounts, args.auctions, args.bids))
    print(
        f"database: {count:,} chain_events ({args.events:,} transfers, {args.auctions:,} auctions, {args.bids:,} bids),"
        f" {args.accounts:,} accounts, {len(open_auctions):,} open auctions ({time.perf_counter() - started:.1f} s)"
    )
    rng = random.Random(11)
    sample = [address(rng.randrange(args.accounts)) for _ in range(2000)]
    balances = [f"/api/balances/{a}" for a in sample]
    # The first page (most requests), a bigger one and the next two pages by cursor.
    active = (
        ["/api/auctions/active"] * 5
        + ["/api/auctions/active?limit=50"]
        + [
            f"/api/auctions/active?cursor={encode_cursor(*open_auctions[n - 1])}"
            for n in (20, 40)
            if len(open_auctions) > n
        ]
    )
    on = "1000000000/60"  # the general limiter counts every request but never trips
    servers = {
        "limiter off": ("0", [
            ("GET /api/balances/{addr} (cached)", balances),
            ("GET /api/auctions/active (cached)", active),
            ("GET /api/transfers?account=&limit=20", [f"/api/transfers?account={a}&limit=20" for a in sample]),
        ]),
        "limiter on": (on, [("GET /api/balances/{addr} (cached)", balances), ("GET /api/auctions/active (cached)", active)]),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "deployment.json"
        write_bench_manifest(manifest)
        try:
            for server, (rate, all_cases) in servers.items():
                cases = [(f"{label}, {server}", p) for label, p in all_cases if args.only in f"{label}, {server}"]
                if not cases:
                    continue
                asyncio.run(flush_redis())
                port = free_port()
                process = start_api(db, manifest, port, rate)
                try:
                    url = f"http://127.0.0.1:{port}"
                    for label, paths in cases:
                        if "cached" in label:
                            asyncio.run(prewarm(url, paths))  # the Redis tier
                        wrk(url, paths, 3, args.connections)  # warm-up (each worker's memory tier, pools)
                        cpu = api_cpu_seconds(process)
                        result = wrk(url, paths, args.duration, args.connections)
                        cpu = api_cpu_seconds(process) - cpu
                        # CPU per request, and the rate two idle cores would allow the API alone at that cost.
                        per_request = cpu / max(1.0, result["rps"] * args.duration)
                        print(f"{label:55s} {result['rps']:9,.0f} req/s   p50 {result['p50']:6.2f} ms"
                              f"   p99 {result['p99']:6.2f} ms   non-2xx {result['non2xx']:.0f}"
                              f"   API CPU {per_request * 1e6:5.0f} us/req (2 cores: {2 / per_request:7,.0f} req/s)"
                              f"   load {os.getloadavg()[0]:.1f}")  # fmt: skip
                finally:
                    process.terminate()
                    process.wait(15)
        finally:

            async def drop() -> None:
                admin = await asyncpg.connect(ADMIN_DSN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                await admin.close()

            asyncio.run(drop())


if __name__ == "__main__":
    main()
