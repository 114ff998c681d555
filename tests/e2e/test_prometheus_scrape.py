"""README "Metrics and alerts": a real Prometheus (Debian's package) scrapes a running stack — the API with
its bearer token, the indexer and the relayer on their own listeners — and sees every target up, with the
repository's alert rules loaded."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from anvil.node import free_port
from core.settings import ROOT
from tests.conftest import REDIS_URL
from tests.e2e.outage_stack import Stack, stack_env, wait_for
from tests.processes import stop

pytestmark = pytest.mark.e2e
PROMETHEUS = shutil.which("prometheus")
TOKEN = "scrape-token-0123456789abcdef"


def _config(stack: Stack, folder: Path) -> Path:
    (folder / "token").write_text(TOKEN + "\n")
    shutil.copy(ROOT / "core" / "ops" / "alerts.yml", folder / "alerts.yml")
    jobs = {
        "api": stack.env["API_PORT"],
        "indexer": stack.env["INDEXER_METRICS_PORT"],
        "relayer": stack.env["RELAYER_METRICS_PORT"],
    }
    lines = ["global: {scrape_interval: 1s, evaluation_interval: 1s}", "rule_files: [alerts.yml]", "scrape_configs:"]
    for job, port in jobs.items():
        lines.append(f"  - job_name: {job}")
        if job == "api":
            lines.append(f"    authorization: {{type: Bearer, credentials_file: {folder / 'token'}}}")
        lines.append(f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]")
    config = folder / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture
def scraped_stack(
    chain: str, manifest_path: Path, relayer_key: str, db_url: str, tmp_path: Path
) -> Iterator[tuple[Stack, str]]:
    if PROMETHEUS is None:
        pytest.skip("prometheus is absent (.ci/run installs it)")
    env = stack_env(db_url, REDIS_URL, chain, manifest_path, relayer_key)
    env.update({"API_METRICS_TOKEN": TOKEN, "LOG_FORMAT": "json", "API_WORKERS": "2"})
    logs = {name: tmp_path / f"{name}.log" for name in ("indexer", "relayer", "api")}
    stack = Stack(env, logs)
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        stack.start()
        port = free_port()
        with (tmp_path / "prometheus.log").open("ab") as sink:
            prometheus = subprocess.Popen(
                [PROMETHEUS, f"--config.file={_config(stack, tmp_path)}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=sink, stderr=sink,
            )  # fmt: skip
        yield stack, f"http://127.0.0.1:{port}"
    finally:
        if prometheus is not None:
            stop(prometheus)
        stack.stop()


def _get(url: str) -> Any:
    try:
        return httpx.get(url, timeout=5).json()["data"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def test_prometheus_sees_every_target_up_and_loads_the_rules(scraped_stack: tuple[Stack, str]) -> None:
    stack, prometheus = scraped_stack

    def all_up() -> dict[str, str] | None:
        data = _get(f"{prometheus}/api/v1/targets")
        health = {t["labels"]["job"]: t["health"] for t in (data or {}).get("activeTargets", [])}
        return health if health == {"api": "up", "indexer": "up", "relayer": "up"} else None

    assert wait_for(all_up, "every target up in Prometheus", timeout=180)
    rules = wait_for(lambda: _get(f"{prometheus}/api/v1/rules"), "the rules loaded", timeout=60)
    names = {rule["name"] for group in rules["groups"] for rule in group["rules"]}
    assert {"IndexerLagging", "RelayerDeadLetters", "ApiErrorRate", "ScheduleNoRecentSuccess"} <= names

    def series(query: str) -> list[Any] | None:
        data = _get(f"{prometheus}/api/v1/query?query={query}")
        return (data or {}).get("result") or None

    assert wait_for(lambda: series("indexer_indexed_block"), "the indexer's head in Prometheus", timeout=60)
    assert wait_for(lambda: series("api_requests_total"), "the API's counters in Prometheus", timeout=60)
    assert wait_for(lambda: series("relayer_requests"), "the relayer's queue gauge in Prometheus", timeout=60)
    assert stack.dead() == []
