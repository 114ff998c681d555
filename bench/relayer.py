"""Relayer benchmark on a local anvil chain: N mint requests inserted → all confirmed.

``python -m bench.relayer [--requests 10000] [--keys 1,4] [--max-pending 1000] [--processes 1] [--baseline 1000]
[--block-time 1]``
deploys the contracts on a fresh anvil (a block every second; ``--block-time 0``: automine), and for
each signer-pool size of ``--keys`` (README "Relayer": the default key plus K-1 others, each its own
nonce lane; ``--max-pending`` in flight over all keys, split between them) inserts N ``mint``
requests, starts ``python -m relayer run`` and prints, from one run:

- end to end: N / (process start → the last request confirmed), and the steady rate from the
  first broadcast to the last confirmation (database timestamps);
- nonce gaps per key (must be 0): each key's nonces against one contiguous range, the chain's
  nonce of every key, and the Coin total supply against the sum of the minted amounts;
- a same-run baseline: the same process sending one request per claim (``RELAYER_SEND_BATCH=1``)
  on ``--baseline`` requests, and the machine load (``uptime``);
- CPU time per request of the relayer process and of anvil (load-independent).

With automine, anvil 1.7.1 sometimes leaves a transaction of a burst pending until another one
arrives (a replacement does not wake it), which stalls a 10,000-request run; hence the default
of a block every second, as a chain has. ``BENCH_PROFILE=var/bench/relayer.prof`` records the
relayer process with cProfile.

Needs PostgreSQL at ``BENCH_DATABASE_URL`` (default: the tests' server); creates and drops its
own databases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from eth_account import Account

from anvil.deploy import deploy
from anvil.node import POOL_KEYS, RELAYER_KEY, free_port, rpc, start_anvil
from core.chain.devkeys import dev_keys
from core.chain.manifest import Manifest
from core.db.migrate import migrate
from core.queue import QUERIES
from core.settings import ROOT

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The signer pool: anvil account #1 (RELAYER_KEY, the default), the dev pool (#6-#8), then #10 on (funded by
# ``--accounts``): every one gets the relayer's roles at deploy.
KEYS = [RELAYER_KEY, *POOL_KEYS, *list(dev_keys().values())[10:]]
ADDRESSES = [Account.from_key(k).address for k in KEYS]


def _uptime() -> str:
    return subprocess.run(["/usr/bin/uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nonces(url: str, keys: int) -> dict[str, int]:
    return {a.lower(): int(str(rpc(url, "eth_getTransactionCount", [a, "latest"])), 16) for a in ADDRESSES[:keys]}


def _total_supply(url: str, manifest: Manifest) -> int:
    return int(
        str(rpc(url, "eth_call", [{"to": manifest.contract("Coin").address, "data": "0x18160ddd"}, "latest"])), 16
    )


async def _insert(conn: asyncpg.Connection, count: int, tag: str) -> int:
    """N mint requests (distinct accounts and payment refs); returns the sum of their amounts."""
    rows = []
    for i in range(count):
        payload = {
            "to": "0x" + secrets.token_hex(20),
            "amount": str(i + 1),
            "payment_ref": "0x" + secrets.token_hex(32),
        }
        rows.append(("mint", f"bench:{tag}:{i}", json.dumps(payload), None))
    await conn.executemany(QUERIES.enqueue.replace("$3", "$3::jsonb"), rows)
    return count * (count + 1) // 2


async def _run(
    url: str,
    dsn: str,
    manifest_path: Path,
    count: int,
    processes: int,
    extra: dict[str, str],
    anvil_pid: int,
    keys: int = 1,
) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("TRUNCATE tx_requests CASCADE")  # tip_intents, payments… refer to it
    await _insert(conn, count, secrets.token_hex(4))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RELAYER_")},
        "ENVIRONMENT": "development",
        "DATABASE_URL": dsn,
        "RPC_URLS": url,
        "MANIFEST_PATH": str(manifest_path),
        "RELAYER_PRIVATE_KEY": RELAYER_KEY,
        "RELAYER_POOL_PRIVATE_KEYS": json.dumps(KEYS[1:keys]),
        "RELAYER_METRICS_PORT": "0",
        "RELAYER_POLL_INTERVAL": "0.05",
        "RELAYER_SCHEDULE_INTERVALS": '{"accrue": 0, "end_auctions": 0}',
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    nonces_before = _nonces(url, keys)
    anvil_cpu = _cpu_seconds(anvil_pid)
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_before = children_cpu.ru_utime + children_cpu.ru_stime
    log = ROOT / "var" / "bench" / "relayer.log"
    started = time.perf_counter()
    command = [sys.executable, "-m", "relayer", "run"]
    if profile := os.environ.get("BENCH_PROFILE"):  # e.g. var/bench/relayer.prof: cProfile of the process
        command = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "relayer", "run"]
    with log.open("wb") as log_file:
        children = [subprocess.Popen(command, env=env, cwd=ROOT, stderr=log_file) for _ in range(processes)]
    try:
        progress = (0, time.perf_counter())
        while True:
            done = await conn.fetchval("SELECT count(*) FROM tx_requests WHERE status NOT IN ('pending', 'submitted')")
            if done == count:
                break
            if done != progress[0]:
                progress = (done, time.perf_counter())
            elif time.perf_counter() - progress[1] > 90:
                raise SystemExit(f"no progress for 90 s at {done}/{count} confirmed; see {log}")
            if any(c.poll() is not None for c in children):
                raise SystemExit(log.read_text()[-3000:])
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(30)
    anvil_cpu = _cpu_seconds(anvil_pid) - anvil_cpu
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    relayer_cpu = children_cpu.ru_utime + children_cpu.ru_stime - children_before
    stats = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                  extract(epoch FROM max(updated_at) - min(first_submitted_at)) AS steady
           FROM tx_requests"""
    )
    lanes = await conn.fetch(
        """SELECT signer, min(nonce) AS lo, max(nonce) AS hi, count(DISTINCT nonce) AS distinct_nonces,
                  count(*) AS n
           FROM tx_requests GROUP BY signer"""
    )
    await conn.close()
    gaps = {r["signer"]: (r["hi"] - r["lo"] + 1) - r["distinct_nonces"] for r in lanes}
    assert all(r["distinct_nonces"] == r["n"] for r in lanes), "a nonce was used twice"
    assert sum(r["n"] for r in lanes) == count
    after = _nonces(url, keys)
    for r in lanes:
        assert after[r["signer"]] - nonces_before[r["signer"]] == r["n"], f"the chain's nonce of {r['signer']}"
    return {
        "confirmed": stats["confirmed"],
        "elapsed": elapsed,
        "steady": float(stats["steady"]),
        "gaps": sum(gaps.values()),
        "per_key": " / ".join(f"{lanes_n:,}" for lanes_n in sorted((r["n"] for r in lanes), reverse=True)),
        "relayer_cpu_ms": 1000 * relayer_cpu / count,
        "anvil_cpu_ms": 1000 * anvil_cpu / count,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description="relayer benchmark")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--keys", default="1,4", help="signer-pool sizes to run, in order (e.g. 1,4)")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=1000, help="requests for the one-per-claim baseline (0: skip)")
    parser.add_argument("--send-batch", default="50")
    parser.add_argument("--confirm-batch", default="500")
    # The same total in flight for every pool size (anvil's cost per request grows with its pool: 4 keys x 1,000
    # cost it ~1.0 ms a request, 4 x 250 or 1 x 1,000 ~0.75 ms): RELAYER_MAX_PENDING_PER_KEY = this / keys.
    parser.add_argument("--max-pending", type=int, default=1000, help="sent, unconfirmed transactions over all keys")
    # A block holds ~1,300 mints at 100M gas: with a block a second the chain itself would cap the rate near the goal.
    parser.add_argument("--gas-limit", default="300000000", help="block gas limit of the bench's anvil")
    # Automine leaves part of a burst of thousands of transactions pending until the next one arrives
    # (seen with anvil 1.7.1), so the default mines a block every second, as a chain does.
    parser.add_argument("--block-time", type=float, default=1.0, help="seconds between blocks; 0: automine")
    args = parser.parse_args()
    sizes = [int(k) for k in args.keys.split(",")]
    if not all(1 <= k <= len(KEYS) for k in sizes):
        parser.error(f"--keys: each between 1 and {len(KEYS)}")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir = ROOT / "var" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    # Deployed with automine (one receipt at a time), then a block every --block-time seconds (whole seconds:
    # anvil's evm_setIntervalMining; a fraction is given to anvil from the start, and the deploy waits for it).
    interval = args.block_time.is_integer()
    anvil = start_anvil(
        port,
        block_time=None if interval else args.block_time,
        extra_args=["--gas-limit", args.gas_limit, "--accounts", "30"],
    )
    database = f"bench_relayer_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    manifest_path = workdir / "relayer-manifest.json"
    try:
        manifest = deploy(url, manifest_path, pool=ADDRESSES[1 : max(sizes)])
        if args.block_time and interval:
            rpc(url, "evm_setIntervalMining", [int(args.block_time)])
        await migrate(dsn)
        print(f"load before: {_uptime()}")
        extra = {"RELAYER_SEND_BATCH": args.send_batch, "RELAYER_CONFIRM_BATCH": args.confirm_batch}
        mining = f"blocks every {args.block_time:g}s" if args.block_time else "automine"
        rates: dict[int, float] = {}
        for keys in sizes:
            supply = _total_supply(url, manifest)
            per_key = max(1, args.max_pending // keys)
            config = {**extra, "RELAYER_MAX_PENDING_PER_KEY": str(per_key)}
            ours = await _run(url, dsn, manifest_path, args.requests, args.processes, config, anvil.pid, keys)
            minted = _total_supply(url, manifest) - supply
            assert minted == args.requests * (args.requests + 1) // 2, "the chain's supply does not match the requests"
            rate = rates[keys] = ours["confirmed"] / ours["elapsed"]
            print(f"relayer, {keys} key(s) ({args.processes} process(es), {mining}, send batch {args.send_batch},"
                  f" confirm batch {args.confirm_batch}, at most {per_key} pending per key):"
                  f" {ours['confirmed']:,.0f} mints confirmed in {ours['elapsed']:.2f}s = {rate:,.0f} req/s end to end"
                  f" (process start included); first broadcast -> last confirmation {ours['steady']:.2f}s"
                  f" = {ours['confirmed'] / ours['steady']:,.0f} req/s; requests per key {ours['per_key']};"
                  f" nonce gaps {ours['gaps']:.0f} (summed over the keys); minted supply matches")  # fmt: skip
            print(f"  CPU per request: relayer {ours['relayer_cpu_ms']:.2f} ms (process start included),"
                  f" anvil {ours['anvil_cpu_ms']:.2f} ms")  # fmt: skip
        if len(rates) > 1:
            first = sizes[0]
            print("  ".join(f"{k} keys / {first} key(s): {rates[k] / rates[first]:.2f}x" for k in sizes[1:]))
        if args.baseline:
            base = await _run(url, dsn, manifest_path, args.baseline, 1,
                              {"RELAYER_SEND_BATCH": "1", "RELAYER_CONFIRM_BATCH": "50"}, anvil.pid)  # fmt: skip
            base_rate = base["confirmed"] / base["elapsed"]
            best = max(rates.values())
            print(f"baseline (one request per claim, 1 process, 1 key): {base['confirmed']:,.0f} in {base['elapsed']:.2f}s"
                  f" = {base_rate:,.0f} req/s; nonce gaps {base['gaps']:.0f}; relayer CPU {base['relayer_cpu_ms']:.2f} ms/request;"
                  f" ratio (best above) {best / base_rate:.1f}x")  # fmt: skip
        print(f"load after: {_uptime()}")
    finally:
        anvil.terminate()
        anvil.wait(10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
