"""Helpers for the hostile-event tests: raw calldata, any log at any address (LogEmitter, moved
with anvil_setCode), and the indexer's real run loop in a task."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak

from anvil.node import rpc
from core.chain.manifest import Manifest
from core.settings import ROOT
from indexer.app import Indexer
from tests.integration.custom_chain import deploy, receipt_of
from tests.integration.helpers import DEPLOYER

CREATE_AUCTION = function_signature_to_4byte_selector("create_auction(uint256,uint256,string)")
AUCTION_CREATED = keccak(text="AuctionCreated(uint256,address,uint256,uint256,uint256,string)")


def create_auction_raw(chain: str, manifest: Manifest, sender: str, metadata: bytes) -> None:
    """``create_auction(1, 3600, metadata)`` with calldata encoded here: the bytes need not be UTF-8."""
    data = "0x" + (CREATE_AUCTION + encode(["uint256", "uint256", "bytes"], [1, 3600, metadata])).hex()
    to = manifest.contract("MeetingAuction").address
    receipt_of(chain, rpc(chain, "eth_sendTransaction", [{"from": sender, "to": to, "data": data}]))


def would_revert(chain: str, manifest: Manifest, sender: str, metadata: bytes) -> bool:
    data = "0x" + (CREATE_AUCTION + encode(["uint256", "uint256", "bytes"], [1, 3600, metadata])).hex()
    to = manifest.contract("MeetingAuction").address
    try:
        rpc(chain, "eth_call", [{"from": sender, "to": to, "data": data, "gas": hex(29_000_000)}, "latest"])
    except RuntimeError:
        return True
    return False


def emitter(chain: str) -> tuple[str, int]:
    """A deployed LogEmitter (address, block)."""
    return deploy(chain, "LogEmitter")


def emit(chain: str, at: str, topics: list[bytes], data: bytes) -> None:
    """A log with ``topics`` (1..3) and ``data`` from the LogEmitter code at ``at``."""
    n = len(topics)
    selector = function_signature_to_4byte_selector(f"emit{n}({'bytes32,' * n}bytes)")
    call = "0x" + (selector + encode(["bytes32"] * n + ["bytes"], [*topics, data])).hex()
    tx = rpc(chain, "eth_sendTransaction", [{"from": DEPLOYER, "to": at, "data": call, "gas": hex(16_000_000)}])
    receipt_of(chain, tx)


@contextlib.contextmanager
def code_of(chain: str, address: str, source: str) -> Iterator[None]:
    """Run ``source``'s code at ``address`` inside the block; the original code afterwards."""
    original = rpc(chain, "eth_getCode", [address, "latest"])
    rpc(chain, "anvil_setCode", [address, rpc(chain, "eth_getCode", [source, "latest"])])
    try:
        yield None
    finally:
        rpc(chain, "anvil_setCode", [address, original])


@contextlib.asynccontextmanager
async def running(indexer: Indexer) -> AsyncIterator[asyncio.Task[None]]:
    """The indexer's real run loop (``python -m indexer run``) in a task; stopped on leaving."""
    stop = asyncio.Event()
    task = asyncio.create_task(indexer.run(stop, 0.05))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def caught_up(pool: asyncpg.Pool, chain: str, task: asyncio.Task[None], deadline: float = 60) -> int:
    """Wait until the checkpoint reaches the chain's head; the run loop must still be running."""
    head = int(str(rpc(chain, "eth_blockNumber")), 16)
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    while loop.time() < until:
        assert not task.done(), task.exception() if not task.cancelled() else "cancelled"
        if (await pool.fetchval("SELECT max(block_number) FROM indexer_checkpoints") or -1) >= head:
            return head
        await asyncio.sleep(0.05)
    raise AssertionError(f"the indexer did not reach block {head}")


def indexer_cli(command: str, db_url: str, chain: str, manifest_path: Path) -> subprocess.CompletedProcess[str]:
    """``python -m indexer <command>`` against the test's database and chain (output: stdout + stderr)."""
    env = {**os.environ, "DATABASE_URL": db_url, "RPC_URLS": chain, "MANIFEST_PATH": str(manifest_path)}
    return subprocess.run([sys.executable, "-m", "indexer", command], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
