"""The deployment files point at real entry points; the committed artifacts are complete."""

import importlib.util
import json
from pathlib import Path

import yaml

from core.settings import ROOT


def _module_of(command: list[str]) -> str:
    assert command[:2] == ["python", "-m"], f"services run `python -m <module>`, got {command}"
    return command[2]


def test_every_compose_service_of_ours_runs_a_real_entry_point() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    built = {name: svc for name, svc in compose["services"].items() if "build" in svc}
    assert {"indexer", "relayer", "api", "migrate"} <= set(built)
    for name, service in built.items():
        module = _module_of(service["command"])
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"{name}: no module {module}"
        main = Path(spec.origin or "")
        if main.name == "__init__.py":
            assert (main.parent / "__main__.py").exists(), f"{name}: {module} has no __main__"
        else:
            assert "def main()" in main.read_text() and '__name__ == "__main__"' in main.read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("core", "indexer", "relayer", "api", "migrations"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_artifacts_have_abi_and_bytecode() -> None:
    artifacts = list((ROOT / "core" / "chain" / "artifacts").glob("*.json"))
    assert any(p.stem == "Coin" for p in artifacts)
    for path in artifacts:
        artifact = json.loads(path.read_text())
        assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 100
        assert any(item.get("type") == "function" for item in artifact["abi"])
