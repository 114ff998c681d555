"""Indexer backfill and head-latency benchmark on a local anvil chain.

``python -m bench.indexer [--blocks 2000] [--pairs 30] [--intents 20] [--bids 20] [--erc20-pairs 50]``
deploys bench/contracts/Emitter.vy four times (as the Coin-like token, the TipRouter, the
MeetingAuction, and a plain ERC-20) and builds one block per ``mix`` call: per block
2 x pairs ``Transfer`` + intents ``IntentSettled`` + bids ``BidPlaced`` events with our
contracts' signatures, and 2 x erc20-pairs plain ERC-20 ``Transfer`` events. It prints, from one run,
for two variants:

- **ours**: the three "our contract" instances in the deployment manifest (raw log + projections:
  balances, transfers, intent outcomes, bids, auctions);
- **config**: the plain ERC-20 named in an ``INDEXER_CONTRACTS_PATH`` file only (typed table
  ``custom_events.erc20__transfer`` and its raw log ``custom_logs``), run as the indexer on its own
  (``INDEXER_MODE=standalone``: no manifest, only the indexer's tables), the path any other
  indexer can be compared on;

each with: end-to-end ``python -m indexer backfill`` from an empty database (events/s, process
start included), the "ceiling" over the same range and addresses (``eth_getLogs`` + COPY of the
undecoded rows, no decoding, no projections) and our ratio to it, and the backfill process's
peak RSS. Then head latency of ``python -m indexer run`` with a block mined every second: time
from our own newHeads notice of block N to the indexer's NOTIFY for block N (p50/p95).

``--events N`` builds a dense chain instead (1,000 events of each chosen variant a block, N / 1,000
blocks; use ``--only`` at 10M: anvil keeps ~600 bytes per event in memory) and ``--deciles`` samples
the backfill (``bench/curve.py``): events/s, share of the ceiling and RSS per decile of events, and
the database size at the end.

Needs PostgreSQL at ``BENCH_DATABASE_URL`` (default: the tests' server); creates and drops
its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from websockets.asyncio.client import connect

from anvil.node import free_port, rpc, start_anvil
from bench import curve
from core.chain.manifest import DeployedContract, Manifest, write_manifest
from core.chain.rpc import RpcClient
from core.db.migrate import INDEXER_ALONE, migrate
from core.settings import ROOT

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEV = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
HERE = Path(__file__).resolve().parent
WORKDIR = ROOT / "var" / "bench"
MIX_TYPES = ["uint256", "uint256", "uint256", "uint256", "address", "address", "address", "uint256"]


def compile_emitter() -> tuple[list[dict[str, Any]], str]:
    vyper = str(Path(sys.executable).parent / "vyper")
    out = subprocess.run([vyper, "-f", "abi,bytecode", str(HERE / "contracts" / "Emitter.vy")],
                         check=True, capture_output=True, text=True).stdout.splitlines()  # fmt: skip
    return json.loads(out[0]), out[1].strip()


def wait_receipt(url: str, tx: str) -> dict[str, Any]:
    for _ in range(200):
        receipt = rpc(url, "eth_getTransactionReceipt", [tx])
        if receipt:
            assert isinstance(receipt, dict)
            return receipt
        time.sleep(0.02)
    raise TimeoutError(tx)


async def build_chain(url: str, emitters: dict[str, str], args: argparse.Namespace) -> None:
    """One ``mix`` transaction per block (automine: each send returns once its block is mined)."""
    selector = function_signature_to_4byte_selector(
        "mix(uint256,uint256,uint256,uint256,address,address,address,uint256)"
    )
    started = time.perf_counter()
    async with RpcClient([url], timeout=120) as client:
        first_block = await client.block_number()
        nonce = int(await client.call("eth_getTransactionCount", [DEV, "latest"]), 16)
        await client.call("evm_setAutomine", [False])  # exactly one mix per block
        for i in range(args.blocks):
            params = [args.pairs, args.intents, args.bids, i + 1, emitters["TipRouter"], emitters["MeetingAuction"],
                      emitters["erc20"], args.erc20_pairs]  # fmt: skip
            data = "0x" + (selector + encode(MIX_TYPES, params)).hex()
            tx = {"from": DEV, "to": emitters["Emitter"], "data": data, "gas": hex(90_000_000), "nonce": hex(nonce + i)}
            await client.call("eth_sendTransaction", [tx])
            await client.call("evm_mine")
            if i % 100 == 99:
                print(f"  built {i + 1}/{args.blocks} blocks", end="\r", flush=True)
        await client.call("evm_setAutomine", [True])
        status = await client.call("txpool_status")
        if int(status["pending"], 16) or int(status["queued"], 16):
            raise SystemExit(f"anvil left transactions unmined: {status}")
        blocks = await client.block_number() - first_block
    print(f"  built {blocks} blocks in {time.perf_counter() - started:.1f}s" + " " * 20)


async def ceiling(url: str, dsn: str, addresses: list[str], start: int, end: int, step: int) -> tuple[int, float]:
    """getLogs + COPY of undecoded rows over the same range: the floor of any indexer's cost."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE UNLOGGED TABLE IF NOT EXISTS ceiling_logs (block_number bigint, log_index int, address text,"
        " topics text[], data text, tx_hash text, block_hash text)"
    )
    total = 0
    started = time.perf_counter()
    async with RpcClient([url], timeout=120) as client:
        for first in range(start, end + 1, step):
            logs = await client.call(
                "eth_getLogs",
                [{"fromBlock": hex(first), "toBlock": hex(min(end, first + step - 1)), "address": addresses}],
            )
            rows = [(int(g["blockNumber"], 16), int(g["logIndex"], 16), g["address"], g["topics"], g["data"],
                     g["transactionHash"], g["blockHash"]) for g in logs]  # fmt: skip
            async with conn.transaction():
                await conn.copy_records_to_table("ceiling_logs", records=rows)
            total += len(rows)
    elapsed = time.perf_counter() - started
    await conn.close()
    return total, elapsed


async def head_latency(url: str, env: dict[str, str], dsn: str, emitters: dict[str, str], samples: int) -> list[float]:
    indexer = subprocess.Popen([sys.executable, "-m", "indexer", "run"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    seen: dict[int, float] = {}
    committed: dict[int, float] = {}
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(
        "chain_events", lambda *args: committed.setdefault(json.loads(args[3])["block"], time.perf_counter())
    )
    selector = function_signature_to_4byte_selector(
        "mix(uint256,uint256,uint256,uint256,address,address,address,uint256)"
    )
    try:
        await asyncio.sleep(3)  # let it catch up
        async with connect(url.replace("http", "ws")) as ws, RpcClient([url]) as client:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            await ws.recv()
            await client.call("evm_setAutomine", [False])
            await client.call("evm_setIntervalMining", [1])
            for i in range(samples):
                params = [3, 2, 2, 10**6 + i, emitters["TipRouter"], emitters["MeetingAuction"], emitters["erc20"], 0]
                data = "0x" + (selector + encode(MIX_TYPES, params)).hex()
                await client.call("eth_sendTransaction", [{"from": DEV, "to": emitters["Emitter"], "data": data}])
                head = json.loads(await ws.recv())["params"]["result"]
                seen[int(head["number"], 16)] = time.perf_counter()
            await asyncio.sleep(1)
    finally:
        indexer.terminate()
        indexer.wait(10)
        await conn.close()
    return [1000 * (committed[n] - t) for n, t in seen.items() if n in committed]


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set since exec) of a live process, in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return []


def backfill_command(head: int, label: str) -> list[str]:
    command = [sys.executable, "-m", "indexer", "backfill", "--to", str(head)]
    if profile := os.environ.get("BENCH_PROFILE"):  # e.g. var/bench/prof: cProfile stats of the writer per variant
        command = [sys.executable, "-m", "cProfile", "-o", f"{profile}-{label}.prof", "-m", "indexer", "backfill",
                   "--to", str(head)]  # fmt: skip
    return command


def _spawn_logged(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)


async def run_backfill_sampled(
    env: dict[str, str], head: int, label: str, first_block: int, per_block: int
) -> tuple[float, float, float, list[curve.Decile]]:
    """``run_backfill`` with RSS and the checkpoint sampled over time: (seconds, peak writer MB, peak worker MB,
    the ten deciles)."""
    started = time.perf_counter()
    process = _spawn_logged(backfill_command(head, label), env, WORKDIR / f"backfill-{label}.log")
    samples = await curve.sample_backfill(process, env["DATABASE_URL"], first_block, per_block)
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise SystemExit((WORKDIR / f"backfill-{label}.log").read_text()[-3000:])
    total = (head - first_block) * per_block
    rows = curve.deciles(samples, total, elapsed)
    # After the last commit: the indexes a long backfill deferred (indexer/indexes.py) are built.
    reached = next((s.at for s in samples if s.events >= total), elapsed)
    built = (WORKDIR / f"backfill-{label}.log").read_text(errors="replace").count("built index ")
    print(f"[{label}] last event committed at {reached:.1f}s; exit {elapsed - reached:.1f}s later"
          f" ({built} deferred indexes built then)")  # fmt: skip
    return elapsed, max(s.writer_mb for s in samples), max(s.worker_mb for s in samples), rows


def run_backfill(env: dict[str, str], head: int, label: str) -> tuple[float, float, float]:
    """``python -m indexer backfill --to head`` as its own process: (seconds, peak RSS MB of the writer
    process, of its fetch worker). Peaks are sampled from /proc (VmHWM) every 0.1 s."""
    command = backfill_command(head, label)
    started = time.perf_counter()
    writer = worker = 0.0
    with open(WORKDIR / f"backfill-{label}.log", "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        while process.poll() is None:
            writer = max(writer, _peak_rss_mb(process.pid))
            worker = max([worker, *(_peak_rss_mb(c) for c in _children(process.pid))])
            time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise SystemExit((WORKDIR / f"backfill-{label}.log").read_text()[-3000:])
    return elapsed, writer, worker


async def fresh_database(admin: asyncpg.Connection, name: str, owners: frozenset[str] | None = None) -> str:
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    await migrate(dsn, owners=owners)
    return dsn


def report(
    label: str, events: int, elapsed: float, rss: tuple[float, float], ceiling_events: int, ceiling_s: float
) -> None:
    assert ceiling_events == events, (label, ceiling_events, events)
    ours, limit = events / elapsed, ceiling_events / ceiling_s
    print(f"[{label}] backfill, empty DB: {events:,} events in {elapsed:.2f}s = {ours:,.0f} events/s"
          " (process start included)")  # fmt: skip
    print(f"[{label}] ceiling (getLogs + COPY raw rows): {ceiling_s:.2f}s = {limit:,.0f} events/s;"
          f" ratio {100 * ours / limit:.0f} %")  # fmt: skip
    print(f"[{label}] peak RSS: writer {rss[0]:.0f} MB, fetch worker {rss[1]:.0f} MB")


async def main() -> None:
    parser = argparse.ArgumentParser(description="indexer benchmark")
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=30, help="Transfer pairs per block (2 events each)")
    parser.add_argument("--intents", type=int, default=20, help="IntentSettled events per block")
    parser.add_argument("--bids", type=int, default=20, help="BidPlaced events per block")
    parser.add_argument("--erc20-pairs", type=int, default=50, help="plain ERC-20 Transfer pairs per block (config)")
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--only", choices=["ours", "config"], help="run one variant only")
    parser.add_argument("--events", type=int, help="events per variant, 1,000 per block (sets --blocks and the mix)")
    parser.add_argument("--deciles", action="store_true", help="sample RSS and progress: events/s and RSS per decile")
    args = parser.parse_args()
    if args.events:  # 1,000 events of each variant per block: 300 Transfer pairs + 200 + 200, 500 ERC-20 pairs
        args.pairs, args.intents, args.bids = (0, 0, 0) if args.only == "config" else (300, 200, 200)
        args.erc20_pairs = 0 if args.only == "ours" else 500
        args.blocks = -(-args.events // 1000)
    per_block = 2 * args.pairs + args.intents + args.bids
    # The ceiling's getLogs span: 2,000 blocks, or ~100,000 logs a request on dense chains.
    step = min(2000, max(1, 100_000 // max(per_block, 2 * args.erc20_pairs, 1)))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    anvil = start_anvil(port, extra_args=["--gas-limit", "100000000"])
    prefix = f"bench_indexer_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    try:
        abi, bytecode = compile_emitter()
        emitters: dict[str, str] = {}
        deploy_block = 0
        for role in ("Emitter", "TipRouter", "MeetingAuction", "erc20"):
            receipt = wait_receipt(url, str(rpc(url, "eth_sendTransaction", [{"from": DEV, "data": bytecode}])))
            emitters[role], deploy_block = receipt["contractAddress"].lower(), int(receipt["blockNumber"], 16)
        print(f"chain: {args.blocks} blocks x ({per_block} of ours + {2 * args.erc20_pairs} plain ERC-20) ="
              f" {args.blocks * per_block:,} + {args.blocks * 2 * args.erc20_pairs:,} events")  # fmt: skip
        await build_chain(url, emitters, args)
        print(f"  anvil RSS after building: {curve.rss_mb(anvil.pid):,.0f} MB")
        head = int(str(rpc(url, "eth_blockNumber")), 16)
        genesis = rpc(url, "eth_getBlockByNumber", ["0x0", False])
        assert isinstance(genesis, dict)
        ours = {role: DeployedContract(address=emitters[role], abi=abi, deploy_block=deploy_block)
                for role in ("Emitter", "TipRouter", "MeetingAuction")}  # fmt: skip
        base_env = {**os.environ, "RPC_URLS": url, "INDEXER_METRICS_PORT": "0", "INDEXER_WS_URL": "auto",
                    "LOG_LEVEL": "INFO", "INDEXER_CONTRACTS_PATH": ""}  # fmt: skip
        env_ours: dict[str, str] = {}
        if args.only in (None, "ours"):
            manifest_path = WORKDIR / "manifest-ours.json"
            manifest = Manifest(chain_id=31337, genesis_hash=genesis["hash"], deploy_block=deploy_block, contracts=ours)
            write_manifest(manifest, manifest_path)
            dsn = await fresh_database(admin, f"{prefix}_ours")
            env_ours = {**base_env, "DATABASE_URL": dsn, "MANIFEST_PATH": str(manifest_path)}
            rows = None
            if args.deciles:
                elapsed, *rss, rows = await run_backfill_sampled(env_ours, head, "ours", deploy_block, per_block)
            else:
                elapsed, *rss = run_backfill(env_ours, head, "ours")
            conn = await asyncpg.connect(dsn)
            events = await conn.fetchval("SELECT count(*) FROM chain_events")
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                      for t in ("token_balances", "intent_outcomes", "bids")}  # fmt: skip
            await conn.close()
            if rows:
                curve.print_database_size("ours", events, *await curve.database_size(dsn))
            addresses = [c.address for c in ours.values()]
            ceiling_events, ceiling_s = await ceiling(url, dsn, addresses, deploy_block, head, step)
            report("ours", events, elapsed, (rss[0], rss[1]), ceiling_events, ceiling_s)
            print(f"[ours] rows: {counts}")
            if rows:
                curve.print_deciles("ours", rows, ceiling_events / ceiling_s)
        if args.only in (None, "config"):
            (WORKDIR / "erc20.json").write_text(json.dumps(abi))
            config = WORKDIR / "contracts.toml"
            config.write_text(f'[[contracts]]\nname = "erc20"\nabi = "erc20.json"\naddress = "{emitters["erc20"]}"\n'
                              f'start_block = {deploy_block}\nevents = ["Transfer"]\n')  # fmt: skip
            dsn = await fresh_database(admin, f"{prefix}_config", INDEXER_ALONE)
            # The indexer on its own: no manifest (the node's chain id and genesis), only its tables.
            env = {**base_env, "DATABASE_URL": dsn, "MANIFEST_PATH": str(WORKDIR / "none.json"),
                   "INDEXER_CONTRACTS_PATH": str(config), "INDEXER_MODE": "standalone"}  # fmt: skip
            rows = None
            if args.deciles:
                elapsed, *rss, rows = await run_backfill_sampled(
                    env, head, "config", deploy_block, 2 * args.erc20_pairs
                )
            else:
                elapsed, *rss = run_backfill(env, head, "config")
            conn = await asyncpg.connect(dsn)
            events = await conn.fetchval('SELECT count(*) FROM custom_events."erc20__transfer"')
            await conn.close()
            if rows:
                curve.print_database_size("config", events, *await curve.database_size(dsn))
            ceiling_events, ceiling_s = await ceiling(url, dsn, [emitters["erc20"]], deploy_block, head, step)
            report("config", events, elapsed, (rss[0], rss[1]), ceiling_events, ceiling_s)
            if rows:
                curve.print_deciles("config", rows, ceiling_events / ceiling_s)
        if args.latency_samples and env_ours:
            latencies = await head_latency(url, env_ours, env_ours["DATABASE_URL"], emitters, args.latency_samples)
            if latencies:
                p95 = sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)]
                print(f"head latency (newHeads -> NOTIFY), {len(latencies)} blocks: p50 {statistics.median(latencies):.0f} ms,"
                      f" p95 {p95:.0f} ms")  # fmt: skip
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        anvil.terminate()
        anvil.wait(10)
        for suffix in ("ours", "config"):
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{suffix}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
