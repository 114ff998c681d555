"""README "Clients": the committed TypeScript client (api/client) matches the served OpenAPI document, and a
Node test (node --test) drives it against a live ``python -m api``: sign up, sign in, balances, a paged
transfer history, the SSE feed. ``UPDATE_CLIENT=1`` (``make client``) rewrites the committed types instead."""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import shutil
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest
from eth_account import Account

from core.chain.manifest import Manifest
from core.settings import ROOT
from tests.integration.api.chain import index, mint

CLIENT = ROOT / "api" / "client"
SCHEMA = CLIENT / "src" / "schema.d.ts"
NODE = shutil.which("node")


def _bin(name: str) -> Path:
    for folder in (CLIENT, ROOT):
        candidate = folder / "node_modules" / ".bin" / name
        if candidate.exists():
            return candidate
    pytest.fail(f"{name} is not installed: run `npm install` (make install)")


async def test_the_committed_client_matches_the_served_spec(api_server: str, tmp_path: Path) -> None:
    # From a server process of its own: in this process sanic-ext's specification builder is a process-wide
    # singleton, and tests that add a route of their own to an app (test_protection) would leak into it.
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{api_server}/docs/openapi.json")
    assert response.status_code == 200
    document = response.json()
    for operations in document["paths"].values():
        for operation in operations.values():
            # sanic-ext names a route served on several paths after whichever it meets first: not stable
            operation.pop("operationId", None)
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document, indent=2, sort_keys=True))
    fresh = tmp_path / "schema.d.ts"
    done = await asyncio.to_thread(
        subprocess.run, [str(_bin("openapi-typescript")), str(spec), "-o", str(fresh)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    generated = fresh.read_text()
    if os.environ.get("UPDATE_CLIENT") == "1":
        SCHEMA.write_text(generated)
    committed = SCHEMA.read_text() if SCHEMA.exists() else ""
    diff = "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True), "committed", "served"))
    assert not diff, f"api/client/src/schema.d.ts is stale: run `make client`\n{diff[:4000]}"


def test_the_client_type_checks() -> None:
    done = subprocess.run(
        [str(_bin("tsc")), "-p", str(CLIENT)], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(NODE is None, reason="node is absent")
async def test_node_drives_the_client_against_the_live_api(
    api_server: str, chain: str, manifest: Manifest, pool: asyncpg.Pool, relayer_key: str
) -> None:
    fan = Account.create().address
    await mint(manifest, pool, chain, relayer_key, [(fan, 5), (fan, 7), (fan, 11)])
    await index(manifest, pool, chain)
    env = {**os.environ, "API_URL": api_server, "FAN_ADDRESS": fan}
    done = await asyncio.to_thread(
        subprocess.run, [str(NODE), "--test", str(CLIENT / "test")], cwd=CLIENT, env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout
