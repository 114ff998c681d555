"""API read benchmark: wrk against ``python -m api`` (2 workers) on a database of >= 100,000 events.

``python -m bench.api_reads [--events 100000] [--accounts 10000] [--duration 15] [--connections 64]``

Builds its own database (migrated, then filled by COPY with synthetic ERC-20 ``Transfer``
events: ``chain_events`` + ``token_transfers`` + ``token_balances`` + checkpoint), writes a
manifest for it, starts the API with ``API_WORKERS=2`` and runs wrk (Debian: ``apt-get install
-y wrk``) over random accounts on:

- ``GET /api/balances/{address}`` (the hot read, cached in Redis per indexed block), with the
  general rate limiter off and then on (a limit too high to trip, so each request pays its
  Redis round trip);
- ``GET /api/transfers?account=…&limit=20`` (a cursor page straight from Postgres).

Prints req/s and latency p50/p99 per case. wrk and the API share the machine's cores.
Needs PostgreSQL at ``BENCH_DATABASE_URL`` and Redis at ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

from anvil.node import free_port
from core.chain.manifest import DeployedContract, Manifest, load_artifact, write_manifest
from core.db import create_pool
from core.db.migrate import migrate
from core.settings import ROOT

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CHAIN_ID = 31337
COIN = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
ENGAGEMENT = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
PER_BLOCK = 10


def dsn_for(name: str) -> str:
    return ADMIN_DSN.rpartition("/")[0] + "/" + name


def address(i: int) -> str:
    return "0x" + f"{i + 1:040x}"


async def build_database(name: str, events: int, accounts: int) -> tuple[int, str]:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(dsn_for(name))
    rng = random.Random(7)
    zero = "0x" + "0" * 40
    balances: dict[str, int] = {}
    ev_rows, tr_rows = [], []
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
    pool = await create_pool(dsn_for(name), min_size=1, max_size=1)  # its binary jsonb codec serves COPY
    try:
        conn = await pool.acquire()
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
        await conn.execute(
            "INSERT INTO indexer_checkpoints (chain_id, block_number, block_hash) VALUES ($1, $2, $3)",
            CHAIN_ID,
            head,
            f"0x{head:064x}",
        )
        await conn.execute("ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM chain_events")
        await pool.release(conn)
    finally:
        await pool.close()
    return int(count), f"0x{head:064x}"


def write_bench_manifest(path: Path) -> None:
    contracts = {
        name: DeployedContract(address=addr, abi=load_artifact(name)["abi"], deploy_block=0)
        for name, addr in (("Coin", COIN), ("Engagement", ENGAGEMENT))
    }
    write_manifest(Manifest(chain_id=CHAIN_ID, genesis_hash="0x" + "0" * 64, deploy_block=0, contracts=contracts), path)


def start_api(db: str, manifest: Path, port: int, rate_general: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    env.update({
        "API_DATABASE_URL": dsn_for(db), "API_REDIS_URL": REDIS_URL, "API_MANIFEST_PATH": str(manifest),
        "API_PORT": str(port), "API_WORKERS": "2", "API_RATE_GENERAL": rate_general, "API_RPC_URLS": "http://127.0.0.1:1",
        "LOG_LEVEL": "WARNING",
    })  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "api"], cwd=ROOT, env=env)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                time.sleep(1.0)  # both workers up
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the API did not start")


def wrk(url: str, paths: list[str], duration: int, connections: int) -> dict[str, float]:
    script = (
        "paths = {"
        + ",".join(json.dumps(p) for p in paths)
        + "}\n"
        + (
            "request = function()\n  return wrk.format('GET', paths[math.random(#paths)])\nend\n"
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
    args = parser.parse_args()
    db = f"bench_api_{os.getpid()}"
    started = time.perf_counter()
    count, _ = asyncio.run(build_database(db, args.events, args.accounts))
    print(
        f"database: {count:,} chain_events, {args.accounts:,} accounts ({time.perf_counter() - started:.1f} s to build)"
    )
    rng = random.Random(11)
    sample = [address(rng.randrange(args.accounts)) for _ in range(2000)]
    cases = [
        ("GET /api/balances/{addr} (cached), limiter off", "0", [f"/api/balances/{a}" for a in sample]),
        ("GET /api/balances/{addr} (cached), limiter on", "1000000000/60", [f"/api/balances/{a}" for a in sample]),
        (
            "GET /api/transfers?account=&limit=20, limiter off",
            "0",
            [f"/api/transfers?account={a}&limit=20" for a in sample],
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "deployment.json"
        write_bench_manifest(manifest)
        try:
            for label, rate, paths in cases:
                asyncio.run(flush_redis())
                port = free_port()
                process = start_api(db, manifest, port, rate)
                try:
                    url = f"http://127.0.0.1:{port}"
                    wrk(url, paths, 3, args.connections)  # warm-up (fills the cache, JITs nothing, opens pools)
                    result = wrk(url, paths, args.duration, args.connections)
                finally:
                    process.terminate()
                    process.wait(15)
                print(f"{label:55s} {result['rps']:9,.0f} req/s   p50 {result['p50']:6.2f} ms   p99 {result['p99']:6.2f} ms"
                      f"   non-2xx {result['non2xx']:.0f}")  # fmt: skip
        finally:

            async def drop() -> None:
                admin = await asyncpg.connect(ADMIN_DSN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                await admin.close()

            asyncio.run(drop())


if __name__ == "__main__":
    main()
