"""Starts the real anvil binary (from the npm package @foundry-rs/anvil) with a fixed mnemonic."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.chain.devkeys import DEV_CHAIN_ID, DEV_MNEMONIC
from core.settings import ROOT

MNEMONIC, CHAIN_ID = DEV_MNEMONIC, DEV_CHAIN_ID
# Keys of the mnemonic's first accounts (public development keys; never use them elsewhere).
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RELAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
TREASURY_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
# The dev signer pool beside RELAYER_KEY (accounts #6, #7, #8): the dev deploy grants them the relayer's
# roles, so RELAYER_POOL_PRIVATE_KEYS may name them (README "Relayer").
POOL_KEYS = (
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
)


def anvil_binary() -> Path:
    """The real binary: ANVIL_BIN, else node_modules' platform package, else PATH."""
    if env := os.environ.get("ANVIL_BIN"):
        return Path(env)
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), "linux")
    candidate = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if candidate.exists():
        return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise FileNotFoundError("anvil not found: run `make install` (npm install) or set ANVIL_BIN")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rpc(url: str, method: str, params: list[object] | None = None, timeout: float = 5.0) -> object:
    """A synchronous JSON-RPC call, for tooling (not for the services' hot paths)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310 (our node)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http URL of our own node)
        payload = json.loads(response.read())
    if "error" in payload:
        raise RuntimeError(f"{method}: {payload['error']}")
    return payload["result"]


def wait_for_rpc(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"anvil exited early with code {process.returncode}")
        try:
            rpc(url, "eth_chainId", timeout=1.0)
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no JSON-RPC answer from {url} after {timeout}s")


def die_with_parent() -> None:
    """preexec_fn: on Linux, the child gets SIGTERM when the process that started it dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_anvil(
    port: int,
    *,
    host: str = "127.0.0.1",
    block_time: float | None = None,
    log_path: Path | None = None,
    extra_args: list[str] | None = None,
    chain_id: int = CHAIN_ID,
) -> subprocess.Popen[bytes]:
    """Start anvil and wait until it answers; the caller owns the process."""
    args = [
        str(anvil_binary()),
        "--host", host,
        "--port", str(port),
        "--mnemonic", MNEMONIC,
        "--chain-id", str(chain_id),
        "--silent" if log_path is None else "--color=never",
    ]  # fmt: skip
    if block_time:
        args += ["--block-time", str(block_time)]
    args += extra_args or []
    stdout = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (handed to the child)
    process = subprocess.Popen(
        args,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509 (prctl only)
    )
    wait_for_rpc(f"http://{host}:{port}", process)
    return process
