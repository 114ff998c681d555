"""One genesis rule for every process, and what a dev-chain reset means for relayer requests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from eth_account import Account

from anvil.node import free_port, rpc, start_anvil
from core.chain.genesis import ForeignChain
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db.chains import register_chain
from core.settings import ROOT
from tests.integration.helpers import make_indexer, make_relayer, new_ref, relay_all
from tests.processes import stop


@pytest.fixture(scope="module")
def foreign_node() -> Iterator[str]:
    """Another anvil of the same chain id with another genesis (another timestamp)."""
    port = free_port()
    process = start_anvil(port, extra_args=["--timestamp", "1000"])
    yield f"http://127.0.0.1:{port}"
    stop(process)


async def test_both_processes_refuse_a_node_of_another_genesis(
    chain: str, foreign_node: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    assert rpc(foreign_node, "eth_chainId") == rpc(chain, "eth_chainId")
    async with RpcClient([foreign_node]) as client:
        with pytest.raises(ForeignChain, match="genesis"):
            await make_indexer(manifest, pool, client).prepare()
        relayer, _ = make_relayer(manifest, pool, client, relayer_key)
        with pytest.raises(ForeignChain, match="genesis"):
            await relayer.prepare()
    # Nothing was registered for the foreign chain: the database still describes no chain.
    assert await pool.fetchval("SELECT count(*) FROM chain_identity") == 0


@pytest.mark.parametrize("process", ["indexer", "relayer"])
async def test_the_processes_exit_with_a_message_on_a_foreign_genesis(
    foreign_node: str, db_url: str, manifest_path: Path, relayer_key: str, process: str
) -> None:
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url, "RPC_URLS": foreign_node,
           "MANIFEST_PATH": str(manifest_path), "RELAYER_PRIVATE_KEY": relayer_key,
           "INDEXER_METRICS_PORT": "0", "RELAYER_METRICS_PORT": "0", "INDEXER_WS_URL": "none"}  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", process, "run"], env=env, cwd=ROOT, capture_output=True, timeout=120
    )
    # The indexer's configuration errors are one line on stderr, exit 2 (README "Indexing any contract").
    assert done.returncode == (2 if process == "indexer" else 1), done.stderr.decode()[-2000:]
    assert b"genesis" in done.stderr and b"differs from the deployment manifest" in done.stderr
    if process == "indexer":
        assert b"Traceback" not in done.stderr and b"\nerror: the RPC node's genesis" in b"\n" + done.stderr


async def test_a_chain_reset_is_refused_outside_the_dev_chain(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        assert await register_chain(conn, "relayer", 11155111, "0xaa") is False
        with pytest.raises(ForeignChain, match="only on the dev chain"):
            await register_chain(conn, "relayer", 11155111, "0xbb")
    async with pool.acquire() as conn, conn.transaction():
        assert await register_chain(conn, "relayer", 31337, "0xaa") is False
        assert await register_chain(conn, "relayer", 31337, "0xbb") is True  # the dev chain may be reset


async def test_a_dev_chain_reset_keeps_finished_requests_as_history_and_signs_in_flight_ones_afresh(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    async with RpcClient([chain]) as client:
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        done = await store.enqueue("mint", "before-reset", {"to": fan, "amount": 3, "payment_ref": new_ref()})
        await relay_all(relayer, store)
        mined = await pool.fetchrow("SELECT tx_hash, nonce, block_number FROM tx_requests WHERE id = $1", done)
        # The "old chain": as if anvil had been restarted, the database describes another genesis. On the
        # "new chain" the old transaction's block holds another block: the old code replayed the request.
        await pool.execute("UPDATE chain_identity SET genesis_hash = '0xold' WHERE owner = 'relayer'")
        await pool.execute("UPDATE tx_requests SET tx_hash = $2 WHERE id = $1", done, "0x" + "ab" * 32)
        in_flight = await store.enqueue("mint", "in-flight", {"to": fan, "amount": 4, "payment_ref": new_ref()})
        relayer, store = make_relayer(manifest, pool, client, relayer_key)
        await relayer.prepare()
        await relay_all(relayer, store)
        for _ in range(3):
            rpc(chain, "evm_mine")
            await relayer.tick()
    old = await pool.fetchrow("SELECT status, previous_chain, nonce, block_number FROM tx_requests WHERE id = $1", done)
    assert old["status"] == "confirmed" and old["previous_chain"], "a finished request of the old chain was replayed"
    assert (old["nonce"], old["block_number"]) == (mined["nonce"], mined["block_number"])
    new = await pool.fetchrow("SELECT status, previous_chain, last_error FROM tx_requests WHERE id = $1", in_flight)
    assert new["status"] == "confirmed" and not new["previous_chain"]
    assert await pool.fetchval("SELECT count(*) FROM tx_requests WHERE history::text LIKE '%reorged out%'") == 0
