"""Ours against the peers on one chain and one PostgreSQL server (opt-in; README "Benchmarks").

``python -m bench.peers [--transfers 200000] [--proxy] [--install] [--only sqd,dipdup,ponder] [--rounds 1]``

builds an anvil chain of plain ERC-20 ``Transfer``s once (bench/contracts/Emitter.vy, 100 per block),
then for each peer runs **ours** (the configuration path of bench.indexer: ``python -m indexer backfill``
in ``INDEXER_MODE=standalone`` with an ``INDEXER_CONTRACTS_PATH`` file) and **the peer** alternately,
each against an empty database of its own on the same server, timed from launch until all its rows are
present (its table's count, polled every 0.2 s), with the peak RSS of its process tree (VmRSS summed,
polled). Prints a table: tool, seconds, events/s, RSS, ours/peer, goal met (≥ 3x SQD, ≥ 10x DipDup,
≥ 15x Ponder).

``--proxy`` puts bench/peers/proxy.py between every tool and anvil: 60 ms per request, 25 requests/s,
Infura's 10,000-result cap on eth_getLogs (``--latency-ms``, ``--rate``, ``--max-logs``).
``--install`` installs the peers first (npm with the committed lock files, a Python 3.12 venv for DipDup;
all under var/bench/peers, reused while nothing changed); without it, peers not yet installed are installed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import asyncpg

from anvil.node import free_port, rpc, start_anvil
from bench.indexer import ADMIN_DSN, DEV, build_chain, ceiling, compile_emitter, fresh_database, wait_receipt
from bench.peers import tools
from core.db.migrate import INDEXER_ALONE
from core.settings import ROOT

GOALS = {"sqd": 3.0, "dipdup": 10.0, "ponder": 15.0}
NAMES = {"ours": "ours (config path)", "sqd": "SQD evm-processor 1.27.3", "dipdup": f"DipDup {tools.DIPDUP_VERSION}",
         "ponder": "Ponder 0.16.10"}  # fmt: skip
PER_BLOCK = 100


@dataclass
class Result:
    tool: str
    seconds: float
    rows: int
    rss_mb: float
    finished: bool
    proxy: dict[str, int] | None = None  # what the proxy saw during the run
    fingerprint: tuple[int, int] | None = None
    cpu_s: float = 0.0  # the tool's process tree
    db_cpu_s: float = 0.0  # its PostgreSQL backends


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def _cpu_s(pid: int) -> float:
    """utime + stime of a live process, in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Database:
    """The polling side of a run: its table's count, and the CPU of the other backends on its database."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.backends: dict[int, float] = {}

    async def count(self, table: str) -> int:
        try:
            return int(await self.conn.fetchval(f"SELECT count(*) FROM {table}"))
        except asyncpg.PostgresError:
            return 0  # not created yet

    async def sample_backends(self) -> None:
        pids = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for (pid,) in pids:
            self.backends[pid] = max(self.backends.get(pid, 0.0), _cpu_s(pid))


def _stop(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


async def measure(tool: str, launch: tools.Launch, dsn: str, expected: int, limit_s: float) -> Result:
    """Launch → count(*) of its table reaches ``expected`` (or the timeout); peak RSS of the tree; CPU of the
    tree (its reaped children's rusage, shutdown included) and of its database backends (sampled)."""
    logs = tools.PEERS_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    db = Database(await asyncpg.connect(dsn))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (logs / f"{tool}.log").open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(launch.command, cwd=launch.cwd, env=launch.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        rss, rows, last_poll = 0.0, 0, 0.0
        try:
            while True:
                rss = max(rss, _rss_mb(_tree(process.pid)))
                now = time.perf_counter()
                if now - last_poll >= 0.2 or process.poll() is not None:
                    last_poll = now
                    await db.sample_backends()
                    rows = await db.count(launch.table)
                    if rows >= expected or process.poll() is not None or now - started > limit_s:
                        result = Result(tool, time.perf_counter() - started, rows, rss, rows >= expected)
                        break
                await asyncio.sleep(0.05)
        finally:
            _stop(process, launch.stop_signal)
    await db.sample_backends()
    await db.conn.close()
    if process.returncode and not result.finished:
        print(f"  {tool} exited {process.returncode}: see {logs / (tool + '.log')}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.cpu_s = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    result.db_cpu_s = sum(db.backends.values())
    return result


async def run_one(tool: str, args: argparse.Namespace, ctx: dict[str, object], admin: asyncpg.Connection) -> Result:
    database = f"bench_peers_{tool}"
    if tool == "ours":
        dsn = await fresh_database(admin, database, INDEXER_ALONE)
    else:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
        dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    chain = tools.Chain(str(ctx["rpc"]), str(ctx["address"]), int(str(ctx["start"])), database, dsn)
    server = urlparse(ADMIN_DSN)
    if tool == "ours":
        env = {**os.environ, "RPC_URLS": chain.rpc, "INDEXER_METRICS_PORT": "0", "INDEXER_WS_URL": "",
               "LOG_LEVEL": "INFO", "DATABASE_URL": dsn, "MANIFEST_PATH": str(tools.PEERS_DIR / "none.json"),
               "INDEXER_CONTRACTS_PATH": str(ctx["contracts"]), "INDEXER_MODE": "standalone"}  # fmt: skip
        launch = tools.ours(chain, env, int(str(ctx["head"])))
    elif tool == "ponder":
        launch = tools.ponder(chain, free_port())
    elif tool == "sqd":
        tools.sqd_migrate(chain)  # before the clock, as ours' migrations are
        launch = tools.sqd(chain, free_port(), args.sqd_rate_limit)
    else:
        launch = tools.dipdup(chain, server.hostname or "127.0.0.1", server.port or 5432)
    before = _proxy_stats(str(ctx["rpc"])) if args.proxy else {}
    result = await measure(tool, launch, dsn, int(str(ctx["events"])), args.timeout)
    if args.proxy:
        after = _proxy_stats(str(ctx["rpc"]))
        result.proxy = {
            key: after.get(key, 0) - before.get(key, 0) for key in ("requests", "calls", "limited", "capped")
        }
    result.fingerprint = await _fingerprint(dsn, launch.table)
    if tool == "ours" and "ceiling" not in ctx:
        # Ranges of 2,000 blocks, or through the proxy the widest its cap lets through.
        step = max(1, args.max_logs // PER_BLOCK) if args.proxy and args.max_logs else 2000
        ctx["ceiling"] = await ceiling(chain.rpc, dsn, [chain.address], chain.start_block, int(str(ctx["head"])), step)
    await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return result


async def _fingerprint(dsn: str, table: str) -> tuple[int, int] | None:
    """(distinct (block, log index) pairs, sum of the values): the same rows in every tool's table."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(f"SELECT count(DISTINCT (block_number, log_index)), sum(value::numeric) FROM {table}")
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()
    return (int(row[0]), int(row[1] or 0)) if row else None


def _proxy_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url.rstrip("/") + "/stats", timeout=5) as response:  # noqa: S310 (our proxy)
        stats: dict[str, int] = json.loads(response.read())
        return stats


def start_proxy(upstream: str, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.peers.proxy", "--upstream", upstream, "--port", str(port),
                                "--latency-ms", str(args.latency_ms), "--rate", str(args.rate),
                                "--max-logs", str(args.max_logs)],
                               cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True)  # fmt: skip
    assert process.stdout is not None
    url = process.stdout.readline().decode().strip()
    if not url:
        raise SystemExit("the proxy did not start")
    return process, url


def print_table(results: list[tuple[Result, Result]], events: int, limit: tuple[int, float] | None) -> None:
    """Seconds are wall clock (launch → all rows); CPU is the tool's process tree + its PostgreSQL backends;
    ours/peer compares wall clock (and, in brackets, CPU)."""
    print(f"\n{'tool':<26} {'seconds':>7} {'events/s':>9} {'RSS MB':>6} {'CPU s':>12} {'ours/peer':>15}  goal")
    if limit:
        print(f"{'getLogs + COPY ceiling':<26} {limit[1]:>7.1f} {limit[0] / limit[1]:>9,.0f}  (same RPC, after ours)")
    for ours, peer in results:
        for result in (ours, peer):
            rate = result.rows / result.seconds if result.seconds else 0
            note = "" if result.finished else f" (stopped at {result.rows:,}/{events:,} rows)"
            cpu = f"{result.cpu_s:.1f}+{result.db_cpu_s:.1f}"
            line = f"{NAMES[result.tool]:<26} {result.seconds:>7.1f} {rate:>9,.0f} {result.rss_mb:>6.0f} {cpu:>12}"
            if result.tool == "ours":
                share = f"  {100 * rate * limit[1] / limit[0]:.0f} % of the ceiling" if limit else ""
                print(f"{line}{share}{note}")
                continue
            # A peer that did not finish: its time is a lower bound, so the ratio is too.
            scale = 1.0 if peer.finished else events / max(1, peer.rows)
            ratio = peer.seconds * scale / ours.seconds
            cpu_ratio = (peer.cpu_s + peer.db_cpu_s) * scale / max(0.01, ours.cpu_s + ours.db_cpu_s)
            goal = GOALS[result.tool]
            met = "met" if ratio >= goal else "NOT met"
            bound = "" if peer.finished else "≈"
            print(f"{line} {bound}{ratio:>6.1f}x ({cpu_ratio:.1f}x)  ≥ {goal:.0f}x {met}{note}")


async def main() -> None:
    parser = argparse.ArgumentParser(description="ours vs SQD, DipDup and Ponder")
    parser.add_argument("--transfers", type=int, default=200_000)
    parser.add_argument("--only", default="sqd,dipdup,ponder", help="comma-separated peers")
    parser.add_argument("--rounds", type=int, default=1, help="ours/peer pairs per peer")
    parser.add_argument("--install", action="store_true", help="install (or refresh) the peers first")
    parser.add_argument("--proxy", action="store_true", help="through a provider-like proxy")
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--rate", type=float, default=25, help="proxy: HTTP requests per second")
    parser.add_argument("--max-logs", type=int, default=10_000, help="proxy: eth_getLogs result cap")
    parser.add_argument("--sqd-rate-limit", type=int, default=None, help="SQD's own rateLimit (calls/s)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run before giving up")
    args = parser.parse_args()
    peers = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(peers) - set(GOALS)
    if unknown:
        raise SystemExit(f"unknown peers: {sorted(unknown)}")
    missing = [name for name in peers if args.install or not tools.installed(name)]
    if missing:
        print(f"installing {', '.join(missing)} into {tools.PEERS_DIR}")
        tools.install(missing)

    port = free_port()
    anvil_url = f"http://127.0.0.1:{port}"
    anvil = start_anvil(port, extra_args=["--gas-limit", "100000000"])
    proxy: subprocess.Popen[bytes] | None = None
    admin = await asyncpg.connect(ADMIN_DSN)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    try:
        abi, bytecode = compile_emitter()
        emitters: dict[str, str] = {}
        for role in ("Emitter", "TipRouter", "MeetingAuction", "erc20"):
            receipt = wait_receipt(
                anvil_url, str(rpc(anvil_url, "eth_sendTransaction", [{"from": DEV, "data": bytecode}]))
            )
            emitters[role], deploy_block = receipt["contractAddress"].lower(), int(receipt["blockNumber"], 16)
        blocks = max(1, args.transfers // PER_BLOCK)
        events = blocks * PER_BLOCK
        print(f"chain: {blocks} blocks x {PER_BLOCK} ERC-20 Transfers = {events:,} events")
        chain_args = argparse.Namespace(blocks=blocks, pairs=0, intents=0, bids=0, erc20_pairs=PER_BLOCK // 2)
        await build_chain(anvil_url, emitters, chain_args)
        head = int(str(rpc(anvil_url, "eth_blockNumber")), 16)
        tools.PEERS_DIR.mkdir(parents=True, exist_ok=True)
        (tools.PEERS_DIR / "erc20.json").write_text(json.dumps(abi))
        contracts = tools.PEERS_DIR / "contracts.toml"
        contracts.write_text(f'[[contracts]]\nname = "erc20"\nabi = "erc20.json"\naddress = "{emitters["erc20"]}"\n'
                             f'start_block = {deploy_block}\nevents = ["Transfer"]\n')  # fmt: skip
        url = anvil_url
        if args.proxy:
            proxy, url = start_proxy(anvil_url, args)
            print(f"through the proxy: {args.latency_ms:.0f} ms per request, {args.rate:.0f} requests/s,"
                  f" eth_getLogs capped at {args.max_logs:,} results")  # fmt: skip
        ctx: dict[str, object] = {"rpc": url, "address": emitters["erc20"], "start": deploy_block, "head": head,
                                  "events": events, "contracts": contracts}  # fmt: skip
        results: list[tuple[Result, Result]] = []
        for peer in peers:
            for _ in range(args.rounds):
                ours = await run_one("ours", args, ctx, admin)
                print(f"  ours: {ours.seconds:.1f}s, {ours.rows:,} rows, {ours.rss_mb:.0f} MB,"
                      f" CPU {ours.cpu_s:.1f}+{ours.db_cpu_s:.1f}s {ours.proxy or ''}")  # fmt: skip
                other = await run_one(peer, args, ctx, admin)
                print(f"  {peer}: {other.seconds:.1f}s, {other.rows:,} rows, {other.rss_mb:.0f} MB,"
                      f" CPU {other.cpu_s:.1f}+{other.db_cpu_s:.1f}s {other.proxy or ''}")  # fmt: skip
                results.append((ours, other))
        print_table(results, events, ctx.get("ceiling"))  # type: ignore[arg-type]
        prints = {r.fingerprint for pair in results for r in pair}
        print(f"rows: {'the same in every table' if len(prints) == 1 else f'DIFFER: {prints}'}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if proxy is not None:
            _stop(proxy, signal.SIGTERM)
        anvil.terminate()
        anvil.wait(10)
        for name in ("ours", *GOALS):
            await admin.execute(f'DROP DATABASE IF EXISTS "bench_peers_{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
