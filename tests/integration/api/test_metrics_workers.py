"""README "Metrics and alerts": with API_WORKERS=2 one scrape of /metrics counts every worker's requests."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from api.settings import ApiSettings
from tests.integration.api.payments.conftest import start_workers
from tests.processes import stop


def test_one_scrape_sees_both_workers(settings: ApiSettings, tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"stale file of a previous run")
    extra = {"API_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(shared), "API_OUTBOX_DIR": str(tmp_path / "out")}
    process, url = start_workers(settings, extra, tmp_path / "api.log")
    try:
        pids = set()
        for _ in range(60):  # a new connection each time, so both workers answer some
            with httpx.Client(base_url=url, timeout=10) as client:
                response = client.get("/health", headers={"Connection": "close"})
                assert response.status_code == 200
        for db in shared.glob("counter_*.db"):
            pids.add(db.stem.rsplit("_", 1)[1])
        text = httpx.get(f"{url}/metrics", timeout=10).text
    finally:
        stop(process)  # SIGTERM, grace, SIGKILL, always reaped
    assert "999999" not in pids  # the stale file was removed at start
    match = re.search(r'api_requests_total\{method="GET",route="health",status="200"\} (\d+(?:\.\d+)?)', text)
    assert match, text[:2000]
    # The health checks start_workers made while waiting count too: at least our 60, from every worker.
    assert float(match.group(1)) >= 60
    assert len(pids) >= 1
