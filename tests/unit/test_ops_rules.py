"""core/ops: the alert rules pass ``promtool check rules`` and their unit tests (``promtool test rules``), the
compose Prometheus config is valid, and every metric the rules and the dashboard name is one the code defines."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core.settings import ROOT

OPS = ROOT / "core" / "ops"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is absent (.ci/run installs it)")
METRIC = re.compile(r"\b((?:indexer|relayer|api|rpc)_[a-z_]+|dependency_up)\b")
SUFFIXES = ("_bucket", "_count", "_sum")


def promtool(*args: str, cwd: Path = OPS) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_promtool
def test_rules_check_and_their_unit_tests_pass() -> None:
    assert "SUCCESS: 13 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


@needs_promtool
def test_the_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    for name in ("alerts.yml", "prometheus.yml"):
        shutil.copy(OPS / name, tmp_path / name)
    config = tmp_path / "prometheus.yml"
    config.write_text(config.read_text().replace("/etc/prometheus/metrics_token", str(tmp_path / "token")))
    (tmp_path / "token").write_text("token\n")
    assert "is valid prometheus config" in promtool("check", "config", str(config), cwd=tmp_path)


def _defined_metrics() -> set[str]:
    names = set()
    for folder in ("core", "api", "indexer", "relayer"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(re.findall(r'(?:Counter|Gauge|Histogram)\(\s*"([a-z_]+)"', path.read_text()))
    return names


def test_rules_and_dashboard_name_only_metrics_the_code_defines() -> None:
    dashboard = json.loads((OPS / "dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set(METRIC.findall((OPS / "alerts.yml").read_text() + "\n".join(expressions)))
    used = {next((n.removesuffix(s) for s in SUFFIXES if n.endswith(s)), n) for n in used}
    defined = _defined_metrics()
    assert len(defined) > 20 and len(expressions) >= 15
    assert used - defined == set(), f"named but never defined: {sorted(used - defined)}"
