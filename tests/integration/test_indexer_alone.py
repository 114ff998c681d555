"""The indexer on its own (README "Indexing any contract"): an ERC-20 indexed from the TOML alone
into an empty database by ``python -m indexer --config``, with block times and a raw log that
``replay`` and ``verify`` cover; only the indexer's tables; one-line configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from eth_account import Account
from eth_utils import keccak

from anvil.node import rpc
from core.chain.manifest import Manifest, load_artifact
from core.db import Queries
from core.db.migrate import INDEXER_ALONE, apply_migrations
from core.errors import ConfigError
from core.ownership import TABLES
from core.settings import ROOT
from tests.conftest import ADMIN_DSN, _dsn_for
from tests.integration.custom_chain import receipt_of, send
from tests.integration.helpers import DEPLOYER, mint_directly

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


@pytest.fixture
async def empty_db() -> AsyncIterator[str]:
    """A database with nothing in it (no migration)."""
    name = f"ct_alone_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _dsn_for(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _write_toml(tmp: Path, body: str) -> Path:
    (tmp / "erc20.json").write_text(json.dumps(load_artifact("Coin")["abi"]))
    path = tmp / "token.toml"
    path.write_text(body)
    return path


def _token_toml(address: str, start: int, extra: str = "") -> str:
    return (
        f'{extra}[[contracts]]\nname = "token"\nabi = "erc20.json"\naddress = "{address}"\n'
        f'start_block = {start}\nevents = ["Transfer"]\n'
    )


def _indexer(tmp: Path, db: str, rpc_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m indexer ...`` in a directory of its own (no .env), with only these settings."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp)),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db,
        "RPC_URLS": rpc_url,
        "MANIFEST_PATH": str(tmp / "no-manifest.json"),
        "INDEXER_FETCH_WORKER": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "indexer", *args],
        check=False,
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def _rows(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        "SELECT block_number, log_index, tx_hash, address, block_time, sender, receiver, value::text "
        'FROM custom_events."token__transfer" ORDER BY 1, 2'
    )
    return [tuple(r) for r in rows]


def _chain_transfers(url: str, token: str) -> list[tuple[int, int, str, str, int]]:
    logs: Any = rpc(url, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": [token],
                                          "topics": [TRANSFER_TOPIC]}])  # fmt: skip
    return [(int(g["blockNumber"], 16), int(g["logIndex"], 16), "0x" + g["topics"][1][-40:],
             "0x" + g["topics"][2][-40:], int(g["data"], 16)) for g in logs]  # fmt: skip


async def test_an_erc20_from_the_toml_alone_into_an_empty_database(
    chain: str, manifest: Manifest, empty_db: str, tmp_path: Path
) -> None:
    # Someone else's token as far as this indexer knows: an address, an ABI, no manifest.
    token = manifest.contract("Coin").address
    fans = [Account.create().address.lower() for _ in range(3)]
    mint_directly(chain, manifest, DEPLOYER, 100)
    for i, fan in enumerate(fans):
        send(chain, token, "transfer(address,uint256)", ["address", "uint256"], [fan, i + 1])
    config = _write_toml(tmp_path, _token_toml(token, manifest.deploy_block))

    done = _indexer(tmp_path, empty_db, chain, "backfill", "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]

    conn = await asyncpg.connect(empty_db)
    try:
        tables = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert "custom_logs" in tables and "indexer_checkpoints" in tables
        foreign = sorted(t for t in tables if t in TABLES and TABLES[t].owner not in INDEXER_ALONE)
        assert foreign == []  # no users, payments, seeds, relayer queue...
        assert "schema_migrations" not in tables and "payment_packages" not in tables
        live = await _rows(conn)
        chain_rows = _chain_transfers(chain, token)
        assert [(r[0], r[1], r[5], r[6], int(r[7])) for r in live] == chain_rows
        assert len(chain_rows) >= 4  # the mint and three transfers (plus the deployment's own, if any)
        for row in live:  # each row carries its block's time
            block: Any = rpc(chain, "eth_getBlockByNumber", [hex(row[0]), False])
            assert int(row[4].timestamp()) == int(block["timestamp"], 16)
        assert await conn.fetchval("SELECT count(*) FROM custom_logs WHERE contract = 'token'") == len(live)

        # A reorg replaces the last block: the orphaned rows and raw logs go, the new ones come.
        receipt_of(chain, rpc(chain, "eth_sendTransaction", [{"from": DEPLOYER, "to": DEPLOYER, "value": "0x0"}]))
        call = {
            "from": DEPLOYER,
            "to": token,
            "data": "0xa9059cbb" + fans[0][2:].rjust(64, "0") + hex(9)[2:].rjust(64, "0"),
        }
        rpc(chain, "anvil_reorg", [2, [[call, 0]]])
        done = _indexer(tmp_path, empty_db, chain, "backfill", "--config", str(config))
        assert done.returncode == 0, done.stderr[-3000:]
        live = await _rows(conn)
        assert [(r[0], r[1], r[5], r[6], int(r[7])) for r in live] == _chain_transfers(chain, token)
        assert live[-1][6] == fans[0] and int(live[-1][7]) == 9
        assert await conn.fetchval("SELECT count(*) FROM custom_logs") == len(live)

        # Replay (no RPC needed for the rows) gives back exactly what indexing live wrote.
        await conn.execute('UPDATE custom_events."token__transfer" SET value = 0')  # damage it
        done = _indexer(tmp_path, empty_db, chain, "replay", "--config", str(config))
        assert done.returncode == 0, done.stderr[-3000:]
        assert await _rows(conn) == live

        verified = _indexer(tmp_path, empty_db, chain, "verify", "--config", str(config))
        assert verified.returncode == 0, verified.stderr[-3000:]
        # verify sees a raw log that differs from the chain.
        await conn.execute(
            "UPDATE custom_logs SET data = '0x00' WHERE log_index = (SELECT min(log_index) FROM custom_logs)"
        )
        broken = _indexer(tmp_path, empty_db, chain, "verify", "--config", str(config))
        assert broken.returncode == 1 and "raw log (custom_logs)" in broken.stderr
    finally:
        await conn.close()


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr[-2000:]
    return errors[0]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad_toml", "cannot be parsed"),
        ("unknown_event", "no such events in the ABI: ['Nope']"),
        ("wrong_chain_id", "the RPC node serves chain id 31337, the configuration expects 1"),
        ("wrong_genesis", "differs from the configuration's 0x" + "ab" * 32),
        ("unreachable_rpc", "cannot read the chain id and genesis from the RPC node"),
    ],
)
def test_configuration_errors_are_one_line(
    chain: str, manifest: Manifest, empty_db: str, tmp_path: Path, case: str, expected: str
) -> None:
    token = manifest.contract("Coin").address
    body = {
        "bad_toml": "[[contracts]\nname = ",
        "unknown_event": _token_toml(token, 0).replace('["Transfer"]', '["Transfer", "Nope"]'),
        "wrong_chain_id": _token_toml(token, 0, "chain_id = 1\n"),
        "wrong_genesis": _token_toml(token, 0, f'genesis_hash = "0x{"ab" * 32}"\n'),
    }.get(case, _token_toml(token, 0))
    config = _write_toml(tmp_path, body)
    url = "http://127.0.0.1:9" if case == "unreachable_rpc" else chain
    line = _one_error_line(_indexer(tmp_path, empty_db, url, "backfill", "--config", str(config)))
    assert expected in line


QUERY_FILES = sorted((ROOT / "indexer").rglob("*.sql"))


async def test_the_indexer_alone_gets_its_own_tables_only_and_modes_do_not_mix(empty_db: str, db_url: str) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        assert await apply_migrations(conn, owners=INDEXER_ALONE)
        assert await apply_migrations(conn, owners=INDEXER_ALONE) == []  # recorded: nothing twice
        tables = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        mine = {t for t, entry in TABLES.items() if entry.owner in INDEXER_ALONE} - {"schema_migrations"}
        assert tables == mine
        # Every indexer query prepares against the indexer-only schema.
        for path in QUERY_FILES:
            tr = conn.transaction()
            await tr.start()
            queries = Queries(path)
            if path.parent.name == "upgrade" and "create" in dict(queries.items()):
                await conn.execute("CREATE SCHEMA projection_shadow")
                await conn.execute(queries.create)
            for name, sql in queries.items():
                try:
                    await conn.prepare(sql)
                except asyncpg.PostgresError as exc:
                    pytest.fail(f"{path.name}:{name} does not match the indexer-only schema: {exc}")
            await tr.rollback()
        with pytest.raises(ConfigError, match="holds the indexer alone"):
            await apply_migrations(conn)
    finally:
        await conn.close()
    full = await asyncpg.connect(db_url)
    try:
        with pytest.raises(ConfigError, match="whole application's schema"):
            await apply_migrations(full, owners=INDEXER_ALONE)
    finally:
        await full.close()
