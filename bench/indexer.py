"""Indexer backfill and head-latency benchmark on a local anvil chain.

``python -m bench.indexer [--blocks 2000] [--pairs 50]`` builds a chain of blocks x pairs x 2
ERC-20 ``Transfer`` events (bench/contracts/Emitter.vy), then prints, from one run:

- end-to-end backfill of ``python -m indexer backfill`` from an empty database: events/s and
  the process's peak RSS;
- the "ceiling" over the same range: ``eth_getLogs`` + COPY of the undecoded rows, no decoding,
  no projections — and our ratio to it;
- head latency of ``python -m indexer run`` with blocks mined every second: time from our own
  newHeads notice of block N to the indexer's NOTIFY for block N (p50/p95).

Needs PostgreSQL at ``BENCH_DATABASE_URL`` (default: the tests' server); creates and drops
its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
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
from core.chain.manifest import DeployedContract, Manifest, write_manifest
from core.chain.rpc import RpcClient
from core.db.migrate import migrate
from core.settings import ROOT

ADMIN_DSN = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEV = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
HERE = Path(__file__).resolve().parent


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


async def build_chain(url: str, address: str, blocks: int, pairs: int) -> None:
    """One spam transaction per block (automine: each send returns once its block is mined)."""
    selector = function_signature_to_4byte_selector("spam(uint256,uint256)")
    started = time.perf_counter()
    async with RpcClient([url], timeout=120) as client:
        first_block = await client.block_number()
        nonce = int(await client.call("eth_getTransactionCount", [DEV, "latest"]), 16)
        for i in range(blocks):
            data = "0x" + (selector + encode(["uint256", "uint256"], [pairs, i])).hex()
            tx = {"from": DEV, "to": address, "data": data, "gas": hex(20_000_000), "nonce": hex(nonce + i)}
            await client.call("eth_sendTransaction", [tx])
            if i % 100 == 99:
                print(f"  built {i + 1}/{blocks} blocks", end="\r", flush=True)
        # Wait for the pool to drain (a send returns before its block exists).
        for _ in range(200):
            status = await client.call("txpool_status")
            if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                break
            await asyncio.sleep(0.05)
        blocks = await client.block_number() - first_block
    print(f"  built {blocks} blocks in {time.perf_counter() - started:.1f}s" + " " * 20)


async def ceiling(url: str, dsn: str, address: str, start: int, end: int, step: int) -> tuple[int, float]:
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
                [{"fromBlock": hex(first), "toBlock": hex(min(end, first + step - 1)), "address": [address]}],
            )
            rows = [(int(g["blockNumber"], 16), int(g["logIndex"], 16), g["address"], g["topics"], g["data"],
                     g["transactionHash"], g["blockHash"]) for g in logs]  # fmt: skip
            async with conn.transaction():
                await conn.copy_records_to_table("ceiling_logs", records=rows)
            total += len(rows)
    elapsed = time.perf_counter() - started
    await conn.close()
    return total, elapsed


async def head_latency(url: str, env: dict[str, str], dsn: str, address: str, samples: int) -> list[float]:
    indexer = subprocess.Popen([sys.executable, "-m", "indexer", "run"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    seen: dict[int, float] = {}
    committed: dict[int, float] = {}
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(
        "chain_events", lambda *args: committed.setdefault(json.loads(args[3])["block"], time.perf_counter())
    )
    selector = function_signature_to_4byte_selector("spam(uint256,uint256)")
    try:
        await asyncio.sleep(3)  # let it catch up
        async with connect(url.replace("http", "ws")) as ws, RpcClient([url]) as client:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            await ws.recv()
            await client.call("evm_setAutomine", [False])
            await client.call("evm_setIntervalMining", [1])
            for i in range(samples):
                data = "0x" + (selector + encode(["uint256", "uint256"], [5, 10**6 + i])).hex()
                await client.call("eth_sendTransaction", [{"from": DEV, "to": address, "data": data}])
                head = json.loads(await ws.recv())["params"]["result"]
                seen[int(head["number"], 16)] = time.perf_counter()
            await asyncio.sleep(1)
    finally:
        indexer.terminate()
        indexer.wait(10)
        await conn.close()
    return [1000 * (committed[n] - t) for n, t in seen.items() if n in committed]


async def main() -> None:
    parser = argparse.ArgumentParser(description="indexer benchmark")
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=50, help="Transfer pairs per block (2 events each)")
    parser.add_argument("--latency-samples", type=int, default=20)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    anvil = start_anvil(port, extra_args=["--gas-limit", "100000000"])
    database = f"bench_indexer_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    workdir = ROOT / "var" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        abi, bytecode = compile_emitter()
        tx = rpc(url, "eth_sendTransaction", [{"from": DEV, "data": bytecode}])
        receipt = wait_receipt(url, str(tx))
        address, deploy_block = receipt["contractAddress"], int(receipt["blockNumber"], 16)
        print(f"chain: {args.blocks} blocks x {2 * args.pairs} events = {args.blocks * 2 * args.pairs:,} events")
        await build_chain(url, address, args.blocks, args.pairs)
        head = int(str(rpc(url, "eth_blockNumber")), 16)
        genesis = rpc(url, "eth_getBlockByNumber", ["0x0", False])
        assert isinstance(genesis, dict)
        manifest = Manifest(
            chain_id=31337, genesis_hash=genesis["hash"], deploy_block=deploy_block,
            contracts={"Emitter": DeployedContract(address=address, abi=abi, deploy_block=deploy_block)},
        )  # fmt: skip
        manifest_path = workdir / "manifest.json"
        write_manifest(manifest, manifest_path)
        await migrate(dsn)
        env = {**os.environ, "DATABASE_URL": dsn, "RPC_URLS": url, "MANIFEST_PATH": str(manifest_path),
               "INDEXER_METRICS_PORT": "0", "INDEXER_WS_URL": "auto", "LOG_LEVEL": "WARNING"}  # fmt: skip

        started = time.perf_counter()
        command = [sys.executable, "-m", "indexer", "backfill", "--to", str(head)]
        if profile := os.environ.get("BENCH_PROFILE"):  # e.g. var/bench/backfill.txt: py-spy collapsed stacks
            command = [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                profile,
                "--",
                *command,
            ]
        done = subprocess.run(command, env=env, cwd=ROOT,
                              check=False, capture_output=True, text=True)  # fmt: skip
        elapsed = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        conn = await asyncpg.connect(dsn)
        events = await conn.fetchval("SELECT count(*) FROM chain_events")
        balances = await conn.fetchval("SELECT count(*) FROM token_balances")
        await conn.close()
        ceiling_events, ceiling_s = await ceiling(url, dsn, address, deploy_block, head, 2000)
        assert ceiling_events == events, (ceiling_events, events)
        ours = events / elapsed
        limit = ceiling_events / ceiling_s
        print(f"backfill (python -m indexer backfill, empty DB): {events:,} events, {balances:,} balances in {elapsed:.2f}s"
              f" = {ours:,.0f} events/s (process start included)")  # fmt: skip
        print(
            f"ceiling (getLogs + COPY raw rows):               {ceiling_events:,} events in {ceiling_s:.2f}s = {limit:,.0f} events/s"
        )
        print(f"ratio to ceiling:                                {100 * ours / limit:.0f} %")
        print(f"peak RSS of the backfill process:                {rss_mb:.0f} MB")
        if args.latency_samples:
            latencies = await head_latency(url, env, dsn, address, args.latency_samples)
            if latencies:
                p95 = sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)]
                print(f"head latency (newHeads -> NOTIFY), {len(latencies)} blocks: p50 {statistics.median(latencies):.0f} ms,"
                      f" p95 {p95:.0f} ms")  # fmt: skip
    finally:
        anvil.terminate()
        anvil.wait(10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
