"""The peers: how each is installed (cached under var/bench/peers) and how its users launch it.

Each peer is a small project next to this file, written the way the tool's docs write one:

- ``ponder/``: ponder.config.ts + ponder.schema.ts (an ``onchainTable``) + src/index.ts
  (``ponder.on("ERC20:Transfer")`` inserting one row), run with ``ponder start``;
- ``sqd/``: an ``EvmBatchProcessor`` in RPC mode + a TypeORM entity (the codegen's shape) and the
  migration ``squid-typeorm-migration generate`` wrote, compiled with ``tsc``, run with
  ``node -r dotenv/config lib/main.js`` after ``squid-typeorm-migration apply``;
- ``dipdup/dipdup_erc20``: dipdup.yaml (an ``evm.node`` datasource, an ``evm.events`` index) + a
  Tortoise model + the ``on_transfer`` handler; ``dipdup init`` generates the rest (types from the ABI)
  offline, as MACHINE.md's recipe says; run with ``dipdup run``.

Every one stores the same row per ERC-20 ``Transfer``: from, to, value, block, log index, tx hash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.settings import ROOT

HERE = Path(__file__).resolve().parent
PEERS_DIR = ROOT / "var" / "bench" / "peers"
DIPDUP_VERSION = "8.6.2"
NPM = ["npm", "install", "--no-fund", "--no-audit", "--loglevel=error"]


@dataclass(frozen=True)
class Chain:
    rpc: str  # what the tool is given (anvil itself, or the proxy in front of it)
    address: str
    start_block: int
    database: str  # a database name on the server of ADMIN_DSN
    dsn: str


@dataclass(frozen=True)
class Launch:
    command: list[str]
    cwd: Path
    env: dict[str, str]
    table: str  # where its rows land (polled with count(*))
    stop_signal: int = 15


def _stamp(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "node_modules" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _run(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
    started = time.perf_counter()
    with open(log, "ab") as out:
        done = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed in {cwd} (see {log})")
    print(f"  {' '.join(command[:3])} … in {cwd.name}: {time.perf_counter() - started:.1f}s")


def _sync_sources(name: str) -> tuple[Path, bool]:
    """Copy bench/peers/<name> into var/bench/peers/<name>; True when the sources changed since last time."""
    source, target = HERE / name, PEERS_DIR / name
    target.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(source)
    marker = target / ".bench-sources"
    if marker.exists() and marker.read_text() == stamp:
        return target, False
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target, True


def _npm_project(name: str, build: list[list[str]]) -> None:
    target, changed = _sync_sources(name)
    lock_stamp = hashlib.sha256((target / "package.json").read_bytes() + (target / "package-lock.json").read_bytes())
    installed = target / "node_modules" / ".bench-installed"
    if not installed.exists() or installed.read_text() != lock_stamp.hexdigest():
        _run(NPM, target, PEERS_DIR / f"install-{name}.log")
        installed.write_text(lock_stamp.hexdigest())
        changed = True
    if changed:
        for command in build:
            _run(command, target, PEERS_DIR / f"install-{name}.log")
        (target / ".bench-sources").write_text(_stamp(HERE / name))


def python312() -> str:
    """pyenv's 3.12 (MACHINE.md), else python3.12 on PATH; BENCH_PYTHON312 overrides."""
    if found := os.environ.get("BENCH_PYTHON312"):
        return found
    pyenv = Path.home() / ".pyenv" / "versions"
    for candidate in sorted(pyenv.glob("3.12*"), reverse=True):
        if (candidate / "bin" / "python").exists():
            return str(candidate / "bin" / "python")
    if found := shutil.which("python3.12"):
        return found
    raise SystemExit("DipDup 8 needs Python >= 3.12: install it (pyenv install 3.12) or set BENCH_PYTHON312")


def _dipdup_project() -> None:
    venv = PEERS_DIR / "dipdup-venv"
    log = PEERS_DIR / "install-dipdup.log"
    marker = venv / ".bench-installed"
    if not marker.exists() or marker.read_text() != DIPDUP_VERSION:
        if not (venv / "bin" / "python").exists():
            _run([python312(), "-m", "venv", str(venv)], PEERS_DIR, log)
        _run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
              f"dipdup=={DIPDUP_VERSION}"], PEERS_DIR, log)  # fmt: skip
        marker.write_text(DIPDUP_VERSION)
    project, changed = _sync_sources("dipdup")
    if changed or not (project / "dipdup_erc20" / "types").exists():
        _run([str(venv / "bin" / "dipdup"), "-c", "dipdup.yaml", "init"], project / "dipdup_erc20", log)
        (project / ".bench-sources").write_text(_stamp(HERE / "dipdup"))


def install(names: list[str]) -> None:
    """Install (or reuse) each named peer; a second run with nothing changed only compares stamps."""
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    steps: dict[str, Callable[[], None]] = {
        "ponder": lambda: _npm_project("ponder", []),
        "sqd": lambda: _npm_project("sqd", [["node_modules/.bin/tsc"]]),
        "dipdup": _dipdup_project,
    }
    for name in names:
        steps[name]()


def installed(name: str) -> bool:
    if name == "dipdup":
        return (PEERS_DIR / "dipdup-venv" / ".bench-installed").exists()
    return (PEERS_DIR / name / "node_modules" / ".bench-installed").exists()


def _node_env(extra: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), **extra}


def ponder(chain: Chain, port: int) -> Launch:
    project = PEERS_DIR / "ponder"
    env = _node_env({"DATABASE_URL": chain.dsn, "PONDER_RPC_URL_31337": chain.rpc, "ERC20_ADDRESS": chain.address,
                     "START_BLOCK": str(chain.start_block), "PONDER_TELEMETRY_DISABLED": "true",
                     "NODE_ENV": "production"})  # fmt: skip
    command = [str(project / "node_modules" / ".bin" / "ponder"), "start", "--schema", "bench", "--port", str(port)]
    return Launch(command, project, env, 'bench."transfer_event"', stop_signal=2)


def sqd_migrate(chain: Chain) -> None:
    project = PEERS_DIR / "sqd"
    _run([str(project / "node_modules" / ".bin" / "squid-typeorm-migration"), "apply"], project,
         PEERS_DIR / "logs" / "sqd-migration.log", _node_env({"DB_URL": chain.dsn}))  # fmt: skip


def sqd(chain: Chain, port: int, rate_limit: int | None) -> Launch:
    project = PEERS_DIR / "sqd"
    env = _node_env({"DB_URL": chain.dsn, "RPC_ETH_HTTP": chain.rpc, "ERC20_ADDRESS": chain.address,
                     "START_BLOCK": str(chain.start_block), "PROCESSOR_PROMETHEUS_PORT": str(port)})  # fmt: skip
    if rate_limit:
        env["RPC_RATE_LIMIT"] = str(rate_limit)
    return Launch(["node", "-r", "dotenv/config", "lib/main.js"], project, env, 'public."transfer"')


def dipdup(chain: Chain, host: str, port: int) -> Launch:
    project = PEERS_DIR / "dipdup" / "dipdup_erc20"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           "POSTGRES_HOST": host, "POSTGRES_PORT": str(port), "POSTGRES_DB": chain.database,
           "NODE_URL": chain.rpc, "ERC20_ADDRESS": chain.address, "START_BLOCK": str(chain.start_block)}  # fmt: skip
    command = [str(PEERS_DIR / "dipdup-venv" / "bin" / "dipdup"), "-c", "dipdup.yaml", "run"]
    return Launch(command, project, env, 'public."transfer"', stop_signal=2)


def ours(chain: Chain, env: dict[str, str], head: int) -> Launch:
    command = [sys.executable, "-m", "indexer", "backfill", "--to", str(head)]
    return Launch(command, ROOT, env, 'custom_events."erc20__transfer"')
