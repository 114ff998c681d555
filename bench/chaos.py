"""Chaos run: load + SIGKILLed indexer/relayer + anvil reorgs, then every invariant checked.

``python -m bench.chaos [--short | --kills 50 --reorgs 100] [--seed N]``

Starts its own anvil, a fresh database, deploys the contracts and runs the real indexer,
relayer and API entry points as processes. While a load generator queues mints (the relayer's
path for a paid checkout) and sends direct chain traffic (mints and transfers by other
accounts), and the product flows of ``bench/chaos_flows.py`` run through the public API and the
chain (signups and SIWE logins, creators approved, claps and gifts settled by the relayer's
schedules, auctions with competing bidders ended by the relayer, meeting redemptions), a chaos
loop SIGKILLs and restarts the indexer and the relayer at random moments and reorganizes the chain
1-5 blocks deep: by default it snapshots the head, mines 1-5 blocks of the traffic, reverts to the
snapshot and mines a longer branch, sometimes with different mints (``--reorg-method anvil_reorg``
rewrites the last blocks in place instead). At the end it drains the queue and asserts:

- every queued mint is ``confirmed`` and its payment_ref has exactly one ``Minted`` log on the
  chain and exactly one indexed ``token_mints`` row (exactly once, despite kills and reorgs);
- no mint request is dead/failed, no request of any kind is left in flight or dead, the relayer's nonce has no gap (pending == latest, every request's
  nonce below it);
- the raw event table holds exactly the chain's logs (same block hash + log index set);
- ``python -m indexer verify`` reports zero mismatches (balances, supplies, auctions, passes);
- the flows' invariants (``chaos_flows.Flows.check``): every accepted intent stored, refused ones
  never on chain, every other one settled or rejected exactly once on chain and so reported by the
  API; every auction ended exactly once with one pass to the highest bidder (none without bids),
  as indexed; every pass burned at most once.

Exit status 0 when all hold, 1 when one does not, 3 when the node itself lost canonical blocks
(anvil 1.7.1, rarely, around a reorg; nothing after them can be checked). A JSON summary is
printed either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from eth_utils import keccak
from redis.asyncio import Redis

from anvil.deploy import deploy
from anvil.node import RELAYER_KEY, free_port, rpc, start_anvil
from bench import chaos_outages
from bench.chaos_flows import CHAIN_LOCK, Flows, api_env, start_api
from bench.chaos_providers import LaggingProvider
from core.chain.manifest import Manifest
from core.db.migrate import migrate
from core.settings import ROOT
from relayer.calls import encode_call

ADMIN_DSN = os.environ.get("CHAOS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHAIN_BEHIND = 4 * 86400
NODE_BROKEN = 3  # exit status: the node lost canonical blocks, the run checked nothing after them
REDIS_URL = os.environ.get("CHAOS_REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7"))
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil #0: unlocked, a Coin minter
TRADER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil #2: unlocked, holds Coin it moves around


def _dsn_for(admin_dsn: str, database: str) -> str:
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{database}"


@dataclass
class Outcome:
    kills: dict[str, int] = field(default_factory=lambda: {"indexer": 0, "relayer": 0})
    reorgs: list[int] = field(default_factory=list)
    queued_mints: int = 0
    direct_txs: int = 0
    failures: list[str] = field(default_factory=list)
    node_broken: bool = False  # the node lost canonical blocks: nothing after them can be checked
    flows: Any = None
    figures: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.failures.append(message)


class Stack:
    """The indexer and relayer as real processes, restartable, logs kept for the post-mortem."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log_file:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", name], env=self.env, cwd=ROOT, stderr=log_file, stdout=log_file
            )

    def kill(self, name: str) -> None:
        child = self.children[name]
        child.send_signal(signal.SIGKILL)
        child.wait(10)

    def ensure_running(self) -> list[str]:
        """Restart any child that died on its own (a crash is a finding, reported by the caller)."""
        died = [n for n, c in self.children.items() if c.poll() is not None]
        for name in died:
            self.start(name)
        return died

    def stop(self) -> dict[str, int]:
        codes = {}
        for child in self.children.values():
            child.send_signal(signal.SIGTERM)
        for name, child in self.children.items():
            try:
                codes[name] = child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                codes[name] = -9
        return codes


def _send(url: str, sender: str, call: Any) -> None:
    with CHAIN_LOCK:
        rpc(url, "eth_sendTransaction", [{"from": sender, "to": call.to, "data": call.data}])


async def _load(
    url: str, manifest: Manifest, pool: asyncpg.Pool, stop: asyncio.Event, out: Outcome, rng: random.Random
) -> None:
    """Queue relayer mints and send direct traffic until ``stop``."""
    while not stop.is_set():
        for _ in range(rng.randint(1, 4)):
            ref = "0x" + rng.randbytes(32).hex()
            payload = {"to": "0x" + rng.randbytes(20).hex(), "amount": str(rng.randint(1, 10**6)), "payment_ref": ref}
            await pool.execute(
                "INSERT INTO tx_requests (kind, idempotency_key, payload) VALUES ('mint', $1, $2::jsonb)",
                f"mint:{ref}",
                json.dumps(payload),
            )
            out.queued_mints += 1
        try:
            if rng.random() < 0.5:
                ref_bytes = rng.randbytes(32)
                call = encode_call(manifest, "Coin", "mint", [TRADER, rng.randint(1, 1000), ref_bytes])
                await asyncio.to_thread(_send, url, DEPLOYER, call)
            else:
                call = encode_call(manifest, "Coin", "transfer", ["0x" + rng.randbytes(20).hex(), 1])
                await asyncio.to_thread(_send, url, TRADER, call)
            out.direct_txs += 1
        except Exception as exc:  # noqa: BLE001 (a direct tx refused mid-reorg is not a finding)
            out.figures.setdefault("direct_tx_errors", 0)
            out.figures["direct_tx_errors"] += 1
            out.figures["last_direct_tx_error"] = str(exc)[:200]
        await asyncio.sleep(rng.uniform(0.05, 0.3))


def _stop_mining(url: str) -> None:
    """Automine off, then wait for the head to stand still (call it under CHAIN_LOCK). Anvil answers
    ``eth_sendTransaction`` and ``eth_sendRawTransaction`` before it mines them: a block still being built when
    ``evm_revert`` or ``anvil_reorg`` runs is put on the old head's number afterwards, which left holes
    (canonical blocks answered as null) and one transaction mined twice. What arrives while mining is off
    waits in the pool for the next ``evm_mine``."""
    rpc(url, "evm_setAutomine", [False])
    last, still_since = rpc(url, "eth_blockNumber"), time.monotonic()
    while time.monotonic() - still_since < 0.15:
        time.sleep(0.03)
        if (now := rpc(url, "eth_blockNumber")) != last:
            last, still_since = now, time.monotonic()


def _resume_mining(url: str) -> None:
    with CHAIN_LOCK:
        rpc(url, "evm_setAutomine", [True])
        rpc(url, "evm_mine")  # what waited in the pool


def _stray_mint(manifest: Manifest, rng: random.Random) -> dict[str, str]:
    """A direct mint only the new branch of a reorg carries."""
    call = encode_call(manifest, "Coin", "mint", ["0x" + rng.randbytes(20).hex(), 7, rng.randbytes(32)])
    return {"from": DEPLOYER, "to": call.to, "data": call.data}


def _reorg(url: str, manifest: Manifest, depth: int, rng: random.Random) -> None:
    """Replace the last ``depth`` blocks in place; the new branch sometimes carries different direct mints."""
    replacements = [[_stray_mint(manifest, rng), offset] for offset in range(depth) if rng.random() < 0.4]
    try:
        with CHAIN_LOCK:
            _stop_mining(url)
            rpc(url, "anvil_reorg", [depth, replacements], timeout=30)
    finally:
        _resume_mining(url)


def _reorg_by_revert(url: str, manifest: Manifest, depth: int, rng: random.Random) -> None:
    """A reorg as a node sees one when another branch wins: snapshot the head, mine ``depth`` blocks of the
    traffic that arrives meanwhile (relayer transactions, the flows' sends), then revert to the snapshot and
    mine a longer branch of ``depth + 1`` blocks, some with direct mints the old branch did not have. What the
    old branch held is gone (transactions included, as when a reorg drops them): the relayer must send its
    own again, the indexer must roll back to the fork."""
    try:
        with CHAIN_LOCK:
            _stop_mining(url)
            snapshot = rpc(url, "evm_snapshot")
        for _ in range(depth):
            time.sleep(rng.uniform(0.05, 0.3))  # traffic gathers in the pool (the lock is free meanwhile)
            with CHAIN_LOCK:
                rpc(url, "evm_mine")
        with CHAIN_LOCK:
            if rpc(url, "evm_revert", [snapshot]) is not True:
                raise RuntimeError(f"evm_revert {snapshot} refused")
            for _ in range(depth + 1):
                if rng.random() < 0.4:
                    rpc(url, "eth_sendTransaction", [_stray_mint(manifest, rng)])
                rpc(url, "evm_mine")
    finally:
        _resume_mining(url)


async def _chaos(
    url: str,
    manifest: Manifest,
    stack: Stack,
    stop: asyncio.Event,
    out: Outcome,
    rng: random.Random,
    args: argparse.Namespace,
) -> None:
    kills_left, reorgs_left = args.kills, args.reorgs
    while kills_left or reorgs_left:
        await asyncio.sleep(rng.uniform(args.min_pause, args.max_pause))
        crashed = stack.ensure_running()
        for name in crashed:
            out.fail(f"{name} exited on its own during the run (see its log)")
        do_kill = kills_left and (not reorgs_left or rng.random() < kills_left / (kills_left + reorgs_left))
        if do_kill:
            name = rng.choice(["indexer", "relayer"])
            stack.kill(name)
            out.kills[name] += 1
            kills_left -= 1
            await asyncio.sleep(rng.uniform(0, 0.5))
            stack.start(name)
        else:
            depth = rng.randint(1, 5)
            head = int(str(rpc(url, "eth_blockNumber")), 16)
            if head > depth + 20:  # never reorg the deployment
                reorg = _reorg_by_revert if args.reorg_method == "revert" else _reorg
                started = time.strftime("%H:%M:%S")
                await asyncio.to_thread(reorg, url, manifest, depth, rng)
                out.reorgs.append(depth)
                reorgs_left -= 1
                if holes := await asyncio.to_thread(_holes, url, head - 10):
                    out.fail(
                        f"the node (anvil) lost canonical blocks {holes} in reorg #{len(out.reorgs)} (depth {depth}, "
                        f"{args.reorg_method}, started {started}, head before {head})"
                    )
                    out.node_broken = True
                    break  # nothing after it can be indexed; the drain would only time out
        print(
            f"chaos: kills {out.kills} reorgs {len(out.reorgs)} queued {out.queued_mints} direct {out.direct_txs}",
            flush=True,
        )
    stop.set()


def _holes(url: str, start: int) -> list[int]:
    """Block numbers from ``start`` to the head that the node answers as null (it should know them all)."""
    head = int(str(rpc(url, "eth_blockNumber")), 16)
    return [n for n in range(max(0, start), head + 1) if rpc(url, "eth_getBlockByNumber", [hex(n), False]) is None]


async def _drain(url: str, pool: asyncpg.Pool, stack: Stack, out: Outcome, within: float, flows: Flows) -> None:
    """Mine until no request is in flight, no intent or auction waits and the indexer has reached the head."""
    await asyncio.to_thread(flows.jump_time, 1800)  # every auction past its end (a late bid extends it by 600 s)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for name in stack.ensure_running():
            out.fail(f"{name} exited on its own while draining")
        inflight = await pool.fetchval("SELECT count(*) FROM tx_requests WHERE status IN ('pending', 'submitted')")
        if inflight or not await flows.settled():
            rpc(url, "evm_mine")  # confirmations for what is in flight
            await asyncio.sleep(0.5)
            continue
        head = int(str(rpc(url, "eth_blockNumber")), 16)
        if await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head:
            await asyncio.sleep(1.0)  # one more poll: nothing new may appear
            if (
                int(str(rpc(url, "eth_blockNumber")), 16) == head
                and await pool.fetchval("SELECT block_number FROM indexer_checkpoints") == head
                and await pool.fetchval("SELECT count(*) FROM tx_requests WHERE status IN ('pending', 'submitted')")
                == 0
                and await flows.settled()
            ):
                return
        await asyncio.sleep(0.2)  # the indexer reaches the head without new blocks
    out.fail("the queue or the indexer did not settle before the drain timeout")
    head = int(str(rpc(url, "eth_blockNumber")), 16)
    if holes := _holes(url, 0):  # seen with anvil 1.7.1 after reorgs: the indexer cannot pass a lost block
        out.fail(f"the node (anvil) answers null for canonical blocks {holes} below its head {head}")


def _logs(url: str, manifest: Manifest) -> list[dict[str, Any]]:
    return rpc(  # type: ignore[return-value]
        url, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": manifest.addresses}], timeout=60
    )


async def _check(url: str, manifest: Manifest, pool: asyncpg.Pool, env: dict[str, str], out: Outcome) -> None:
    coin = manifest.contract("Coin")
    logs = _logs(url, manifest)
    minted_topic = "0x" + keccak(text="Minted(address,uint256,bytes32)").hex()
    minted_per_ref: dict[str, int] = {}
    for log in logs:
        if log["address"].lower() == coin.address.lower() and log["topics"][0] == minted_topic:
            ref = log["topics"][2].lower()
            minted_per_ref[ref] = minted_per_ref.get(ref, 0) + 1
    requests = await pool.fetch(
        "SELECT id, status, payload->>'payment_ref' AS ref, nonce, last_error FROM tx_requests WHERE kind = 'mint'"
    )
    indexed_refs = {
        r["payment_ref"]: r["n"]
        for r in await pool.fetch("SELECT payment_ref, count(*) AS n FROM token_mints GROUP BY payment_ref")
    }
    statuses: dict[str, int] = {}
    for request in requests:
        statuses[request["status"]] = statuses.get(request["status"], 0) + 1
        if request["status"] != "confirmed":
            out.fail(f"request {request['id']} ended {request['status']}: {request['last_error']}")
        on_chain = minted_per_ref.get(request["ref"], 0)
        if on_chain != 1:
            out.fail(f"payment_ref {request['ref']} minted {on_chain} times on chain")
        if indexed_refs.get(request["ref"], 0) != 1:
            out.fail(f"payment_ref {request['ref']} indexed {indexed_refs.get(request['ref'], 0)} times")
    out.figures["requests"] = statuses
    others = await pool.fetch("SELECT kind, status, count(*) AS n FROM tx_requests WHERE kind <> 'mint' GROUP BY 1, 2")
    out.figures["other_requests"] = {f"{r['kind']}:{r['status']}": r["n"] for r in others}
    for r in others:
        if r["status"] in ("pending", "submitted", "dead"):
            out.fail(f"{r['n']} {r['kind']} request(s) ended {r['status']}")
    duplicated = {ref: n for ref, n in minted_per_ref.items() if n > 1}
    if duplicated:
        out.fail(f"{len(duplicated)} payment_refs minted more than once")
        for log in logs:  # the post-mortem: which blocks and txs, and are those blocks canonical?
            if log["topics"][0] == minted_topic and log["topics"][2].lower() in duplicated:
                block = rpc(url, "eth_getBlockByNumber", [log["blockNumber"], False])
                canonical = isinstance(block, dict) and block["hash"].lower() == log["blockHash"].lower()
                out.fail(
                    f"  {log['topics'][2][:18]} in block {int(log['blockNumber'], 16)} tx {log['transactionHash']}"
                    f" ({'canonical' if canonical else 'NOT canonical'})"
                )

    signer = await pool.fetchval("SELECT DISTINCT signer FROM tx_requests WHERE signer IS NOT NULL LIMIT 1")
    if signer:
        latest = int(str(rpc(url, "eth_getTransactionCount", [signer, "latest"])), 16)
        pending = int(str(rpc(url, "eth_getTransactionCount", [signer, "pending"])), 16)
        out.figures["relayer_nonce"] = {"latest": latest, "pending": pending}
        if latest != pending:
            out.fail(f"relayer has {pending - latest} transaction(s) stuck in the pool (nonce gap)")
        above = await pool.fetchval("SELECT count(*) FROM tx_requests WHERE nonce >= $1", latest)
        if above:
            out.fail(f"{above} request(s) hold a nonce the chain never reached")

    chain_keys = {(log["blockHash"].lower(), int(log["logIndex"], 16)) for log in logs}
    indexed_keys = {
        (r["block_hash"], r["log_index"]) for r in await pool.fetch("SELECT block_hash, log_index FROM chain_events")
    }
    out.figures["chain_logs"] = len(chain_keys)
    if chain_keys != indexed_keys:
        out.fail(
            f"raw events differ from the chain: {len(chain_keys - indexed_keys)} missing, "
            f"{len(indexed_keys - chain_keys)} extra"
        )

    verify = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "indexer", "verify"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out.figures["verify_exit"] = verify.returncode
    if verify.returncode != 0:
        out.fail("indexer verify reported mismatches: " + verify.stderr[-1500:])


def _terminate(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    out = Outcome()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    drill = chaos_outages.Drill.maybe(args, workdir)  # --outages: private PostgreSQL/Redis, restarted
    port = free_port()
    # Chain time starts 4 days behind the wall clock: the auctions' time jumps (evm_increaseTime) then
    # keep it behind, as the API's wall-clock checks (redemption deadlines, meeting windows) assume.
    genesis = ["--timestamp", str(int(time.time()) - CHAIN_BEHIND)]
    anvil = start_anvil(port, log_path=workdir / "anvil.log" if args.keep else None, extra_args=genesis)
    url = f"http://127.0.0.1:{port}"
    database = f"chaos_{os.getpid()}"
    admin = await asyncpg.connect(args.admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = _dsn_for(args.admin_dsn, database)
    started = time.monotonic()
    stack: Stack | None = None
    api_process: subprocess.Popen[bytes] | None = None
    providers = LaggingProvider(url, rng).start() if args.lagging_provider else None  # bench/chaos_providers.py
    try:
        await migrate(dsn)
        manifest = await asyncio.to_thread(deploy, url, workdir / "deployment.json")
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": dsn,
            "RPC_URLS": providers.url if providers else url,
            "MANIFEST_PATH": str(workdir / "deployment.json"),
            "RELAYER_PRIVATE_KEY": RELAYER_KEY,
            "RELAYER_CONFIRMATIONS": str(args.confirmations),
            "RELAYER_STUCK_SECONDS": "5",
            "INDEXER_METRICS_PORT": "0",
            "RELAYER_METRICS_PORT": "0",
            "INDEXER_POLL_INTERVAL": "0.1",
            "RELAYER_POLL_INTERVAL": "0.1",
            "LOG_LEVEL": "INFO",
            # The tipping and auction schedules every second or two (the defaults are hourly/weekly/minutely).
            "RELAYER_SCHEDULE_INTERVALS": json.dumps(
                {"approve_pending": 1, "settle_approved": 2, "end_auctions": 1, "accrue": 0}
            ),
            "RELAYER_TIPS_DAILY_MAX_INTENTS": "100000",
        }
        redis = Redis.from_url(args.redis_url)
        await redis.flushdb()  # the run's own Redis database (feed streams, caches)
        await redis.aclose()
        api_process, api_url = await asyncio.to_thread(
            start_api, api_env(env, dsn, args.redis_url, url, workdir / "deployment.json", workdir), workdir / "api.log"
        )
        # The trader starts with Coin to move around (direct traffic, not through the queue).
        _send(url, DEPLOYER, encode_call(manifest, "Coin", "mint", [TRADER, 10**12, rng.randbytes(32)]))
        for _ in range(25):
            rpc(url, "evm_mine")
        stack = Stack(env, workdir)
        stack.start("indexer")
        stack.start("relayer")
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        pool = chaos_outages.TolerantPool(pool) if drill else pool  # type: ignore[assignment]
        flows = Flows(api_url, url, manifest, pool, random.Random(rng.random()), fans=args.fans, creators=args.creators)
        try:
            setup_started = time.monotonic()
            await flows.setup()
            out.figures["setup_seconds"] = round(time.monotonic() - setup_started, 1)
            print(f"chaos: {len(flows.fans)} fans and {len(flows.creators)} creators signed up", flush=True)
            stop = asyncio.Event()
            load = asyncio.create_task(_load(url, manifest, pool, stop, out, rng))
            traffic = asyncio.create_task(flows.run(stop))
            outages = asyncio.create_task(drill.run(stop, rng, flows.failures, api_url)) if drill else None
            await _chaos(url, manifest, stack, stop, out, rng, args)
            await load
            await traffic
            if providers:
                providers.catch_up()
                out.figures["providers"] = providers.figures()
            if outages is not None and drill is not None:
                await outages
                out.figures["outages"] = drill.figures
            if not out.node_broken:
                print("chaos: load stopped; draining", flush=True)
                drain_started = time.monotonic()
                await _drain(url, pool, stack, out, args.drain_timeout, flows)
                out.figures["drain_seconds"] = round(time.monotonic() - drain_started, 1)
                await _check(url, manifest, pool, env, out)
                out.figures["flows"] = await flows.check(logs=await asyncio.to_thread(_logs, url, manifest))
            for failure in flows.failures:
                out.fail(failure)
        finally:
            out.flows = flows.counts
            await flows.close()
            await pool.close()
            if api_process is not None:
                _terminate(api_process)
            api_process = None
        codes = stack.stop()
        stack = None
        for name, code in codes.items():
            if code != 0:
                out.fail(f"{name} exited {code} on SIGTERM")
    finally:
        if stack is not None:
            stack.stop()
        if api_process is not None:
            _terminate(api_process)
        if providers:
            providers.stop()
        anvil.terminate()
        anvil.wait(10)
        if drill is not None:  # its admin connection did not survive the restarts; the data dir goes anyway
            admin.terminate()
            drill.close()
        else:
            if not args.keep:
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()
    out.figures["seconds"] = round(time.monotonic() - started, 1)
    summary = {
        "ok": not out.failures,
        "node_broken": out.node_broken,
        "seed": args.seed,
        "reorg_method": args.reorg_method,
        "kills": out.kills,
        "reorgs": len(out.reorgs),
        "reorg_depths": sorted(out.reorgs),
        "queued_mints": out.queued_mints,
        "direct_txs": out.direct_txs,
        "flows": asdict(out.flows) if out.flows is not None else None,
        "figures": out.figures,
        "failure_count": len(out.failures),
        "failures": out.failures[:50],
        "logs": str(workdir),
    }
    print(json.dumps(summary, indent=2))
    if out.node_broken:
        return NODE_BROKEN
    return 0 if not out.failures else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the CI mode: 6 kills, 6 reorgs")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--reorgs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--reorg-method",
        choices=["revert", "anvil_reorg"],
        default="revert",
        help="revert: snapshot, mine 1-5 blocks of the traffic, evm_revert and mine a longer branch (default); "
        "anvil_reorg: rewrite the last 1-5 blocks in place. Both with automine off around the rewrite",
    )
    parser.add_argument(
        "--lagging-provider", action="store_true", help="indexer and relayer behind a balancer with a lagging node"
    )
    parser.add_argument("--confirmations", type=int, default=2)
    parser.add_argument("--min-pause", type=float, default=0.3)
    parser.add_argument("--max-pause", type=float, default=2.0)
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--fans", type=int, default=8)
    parser.add_argument("--creators", type=int, default=3)
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis database the run may flush (the API's)")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--admin-dsn", default=ADMIN_DSN, help="a database to CREATE DATABASE from")
    chaos_outages.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.short:
        args.kills, args.reorgs = 6, 6
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
