"""`python -m relayer run` SIGKILLed mid-flight and restarted: every request has exactly one effect, no nonce gap.

Deterministic points run the relayer through ``tests/e2e/crashing_relayer.py``, which injects a crash
hook exiting at the point named by ``RELAYER_CRASH_AT`` (the process calls ``os._exit``, as a SIGKILL
would leave it: nothing after that point committed): ``after_send`` (a batch broadcast, the next one
signed and committed but maybe not sent) and ``after_mined`` (receipts read, outcomes not recorded).
A last test SIGKILLs the process at random moments. Each runs with one key and with a signer pool of four
(README "Relayer"): every key's nonces stay contiguous.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from eth_account import Account

from anvil.node import POOL_KEYS, free_port
from core.chain.manifest import Manifest
from core.settings import ROOT
from relayer.store import RelayerStore
from tests.e2e.crashing_relayer import CRASH_EXIT_CODE
from tests.integration.helpers import balance_of, new_ref
from tests.integration.relayer.common import chain_nonce, mint

REQUESTS = 200
CRASHING = "tests.e2e.crashing_relayer"  # the relayer with the crash hook injected


def _env(db_url: str, chain: str, manifest_path: Path, key: str, keys: int = 1, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYER_")}
    if keys > 1:  # the default key and the dev pool's others (the dev deploy grants them every role)
        env["RELAYER_POOL_PRIVATE_KEYS"] = json.dumps(list(POOL_KEYS[: keys - 1]))
    return {
        **env,
        "ENVIRONMENT": "test",
        "DATABASE_URL": db_url,
        "RPC_URLS": chain,
        "MANIFEST_PATH": str(manifest_path),
        "RELAYER_PRIVATE_KEY": key,
        "RELAYER_METRICS_PORT": str(free_port()),
        "RELAYER_POLL_INTERVAL": "0.1",
        "RELAYER_SEND_BATCH": "5",
        "RELAYER_SCHEDULE_INTERVALS": '{"accrue": 0, "end_auctions": 0}',
        **extra,
    }


def _text(log: Path, since: int = 0) -> str:
    return log.read_text()[since:]


def _start(env: dict[str, str], log: Path, module: str = "relayer") -> subprocess.Popen[bytes]:
    with log.open("ab") as log_file:
        return subprocess.Popen([sys.executable, "-m", module, "run"], env=env, cwd=ROOT, stderr=log_file)


async def _wait_all_final(pool: asyncpg.Pool, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, _text(log)[-3000:]
        if not await pool.fetchval("SELECT count(*) FROM tx_requests WHERE status IN ('pending', 'submitted')"):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"requests still in flight: {await RelayerStore(pool).status_counts()}")


def _stop(process: subprocess.Popen[bytes], log: Path, since: int) -> None:
    """SIGTERM once the process is running (its handler is installed by then): it must exit cleanly."""
    deadline = time.monotonic() + 180  # a loaded machine starts slowly
    while "relaying as" not in _text(log, since) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(90)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave it running (the next test would inherit it)
        process.wait(10)
        pytest.fail(f"the relayer did not stop within 90 s of SIGTERM:\n{_text(log)[-3000:]}")
    assert code == 0, _text(log)[-3000:]


async def _enqueue(pool: asyncpg.Pool, count: int) -> list[tuple[str, int]]:
    store, fans = RelayerStore(pool), [(Account.create().address, i + 1) for i in range(count)]
    for i, (fan, amount) in enumerate(fans):
        await store.enqueue("mint", f"crash:{i}", mint(fan, amount, new_ref()))
    return fans


def _addresses(key: str, keys: int) -> list[str]:
    return [Account.from_key(k).address.lower() for k in (key, *POOL_KEYS[: keys - 1])]


def _starts(chain: str, addresses: list[str]) -> dict[str, int]:
    return {address: chain_nonce(chain, address, "latest") for address in addresses}


async def _exactly_once(
    chain: str, manifest: Manifest, pool: asyncpg.Pool, fans: list[tuple[str, int]], start: dict[str, int]
) -> list[asyncpg.Record]:
    rows = list(await pool.fetch("SELECT status, signer, nonce, tx_hashes FROM tx_requests ORDER BY nonce"))
    assert [r["status"] for r in rows] == ["confirmed"] * len(fans)
    for address, first in start.items():
        nonces = [r["nonce"] for r in rows if r["signer"] == address]
        assert nonces == list(range(first, first + len(nonces))), address  # no gap, no reuse on any key
        assert chain_nonce(chain, address, "latest") == first + len(nonces), address
    assert {r["signer"] for r in rows} <= set(start)
    token = manifest.contract("Coin").address
    assert [balance_of(chain, token, fan) for fan, _ in fans] == [amount for _, amount in fans]  # one effect each
    return rows


@pytest.mark.parametrize(("crash_at", "keys"), [("after_send", 1), ("after_mined", 1), ("after_send", 4)])
async def test_killed_at_a_crash_point_and_restarted_every_request_has_one_effect(
    crash_at: str,
    keys: int,
    chain: str,
    manifest: Manifest,
    manifest_path: Path,
    pool: asyncpg.Pool,
    db_url: str,
    relayer_key: str,
    tmp_path: Path,
) -> None:
    start = _starts(chain, _addresses(relayer_key, keys))
    fans = await _enqueue(pool, 20)
    log = tmp_path / "relayer.log"
    env = _env(db_url, chain, manifest_path, relayer_key, keys)
    crashing = _start({**env, "RELAYER_CRASH_AT": crash_at}, log, CRASHING)
    assert crashing.wait(60) == CRASH_EXIT_CODE, _text(log)[-3000:]
    counts = await RelayerStore(pool).status_counts()
    assert counts.get("submitted", 0) >= 5, counts  # in flight when it died
    assert not counts.get("confirmed"), counts
    mined_before_restart = sum(chain_nonce(chain, a, "latest") - n for a, n in start.items())
    if crash_at == "after_mined":
        assert mined_before_restart >= 5  # on chain, not recorded as confirmed

    since = len(_text(log))
    restarted = _start(env, log)
    await _wait_all_final(pool, restarted, log)
    _stop(restarted, log, since)
    rows = await _exactly_once(chain, manifest, pool, fans, start)
    assert sum(len(r["tx_hashes"]) for r in rows) == len(fans)  # the persisted txs were resent, never re-signed
    assert len({r["signer"] for r in rows}) == keys  # batches of 5: every key took part
    assert f"RELAYER_CRASH_AT={crash_at}" in _text(log)


@pytest.mark.parametrize("keys", [1, 4])
async def test_sigkill_at_random_moments_and_restarts(
    keys: int,
    chain: str,
    manifest: Manifest,
    manifest_path: Path,
    pool: asyncpg.Pool,
    db_url: str,
    relayer_key: str,
    tmp_path: Path,
) -> None:
    start = _starts(chain, _addresses(relayer_key, keys))
    fans = await _enqueue(pool, REQUESTS)
    env = _env(db_url, chain, manifest_path, relayer_key, keys, RELAYER_CONFIRM_BATCH="40")  # send, confirm interleave
    log, rng = tmp_path / "relayer.log", random.Random(5)
    log.touch()
    kills, seen = 0, []
    for _ in range(6):
        since = len(_text(log))
        process = _start(env, log)
        while "relaying as" not in _text(log, since):
            assert process.poll() is None, _text(log)[-3000:]
            await asyncio.sleep(0.02)
        # Somewhere in claim / sign / send / confirm: after a random delay, or once this run has moved half of
        # what was left (a quiet machine relays all 200 within half a second; a kill after the end proves nothing).
        before = await RelayerStore(pool).status_counts()
        moved_before = before.get("confirmed", 0) + before.get("submitted", 0)
        enough = moved_before + max(1, (REQUESTS - moved_before) // 2)
        kill_at = time.monotonic() + rng.uniform(0.0, 0.8)
        while time.monotonic() < kill_at:
            counts = await RelayerStore(pool).status_counts()
            if counts.get("confirmed", 0) + counts.get("submitted", 0) >= enough and counts.get("submitted"):
                break
            await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kills += 1
        counts = await RelayerStore(pool).status_counts()
        seen.append(counts)
        if not counts.get("pending") and not counts.get("submitted"):
            break
    since = len(_text(log))
    final = _start(env, log)
    await _wait_all_final(pool, final, log)
    _stop(final, log, since)
    rows = await _exactly_once(chain, manifest, pool, fans, start)
    assert len({r["signer"] for r in rows}) == keys
    assert any(c.get("submitted") for c in seen), seen  # killed with transactions in flight
    print(f"{keys} key(s), {kills} SIGKILLs, statuses after each: {seen}; {REQUESTS} mints confirmed once each")  # noqa: T201
