"""docker-compose.yml (README "Metrics and alerts"): one-shot migrate and deploy services the processes wait for,
the .env file passed to every app service, the metrics listeners bound for scraping and published, and the
monitoring profile's Prometheus using the repository's rules. (The Docker engine does not run here.)"""

from __future__ import annotations

from typing import Any

import yaml

from core.settings import ROOT

APPS = ("migrate", "deploy", "indexer", "relayer", "api")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_setup_runs_once_before_the_processes() -> None:
    services = _compose()["services"]
    for one_shot in ("migrate", "deploy"):
        assert services[one_shot]["restart"] == "no"
    assert "/deploy/deployment.json" in " ".join(services["deploy"]["command"])
    for process in ("indexer", "relayer", "api"):
        wait = services[process]["depends_on"]
        assert wait["migrate"] == wait["deploy"] == {"condition": "service_completed_successfully"}
        assert services[process]["environment"]["MANIFEST_PATH"] == "/deploy/deployment.json"


def test_every_setting_reaches_the_app_services() -> None:
    services = _compose()["services"]
    for name in APPS:
        assert {"path": ".env", "required": False} in services[name]["env_file"], name
        assert services[name]["build"] == "."


def test_metrics_are_bound_for_scraping_published_and_scraped() -> None:
    services = _compose()["services"]
    for process, port in (("indexer", "9101"), ("relayer", "9102")):
        env = services[process]["environment"]
        bound = "0.0.0.0"  # noqa: S104 (the container's listener must be reachable from Prometheus)
        assert env[f"{process.upper()}_METRICS_HOST"] == bound and env[f"{process.upper()}_METRICS_PORT"] == port
        assert f"{port}:{port}" in services[process]["ports"]
    assert services["api"]["environment"]["API_METRICS_TOKEN"].startswith("${API_METRICS_TOKEN:?")
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    mounted = {volume.split(":")[0] for volume in prometheus["volumes"]}
    assert {"./core/ops/prometheus.yml", "./core/ops/alerts.yml"} <= mounted
    scrape = yaml.safe_load((ROOT / "core" / "ops" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape["scrape_configs"]}
    assert targets == {"api": ["api:8000"], "indexer": ["indexer:9101"], "relayer": ["relayer:9102"]}
