"""The committed ``core/chain/artifacts/<Name>.json`` files (what the services and the
deploy script use) match the contracts compiled here: same ABI, same deployment bytecode.
Regenerate them with ``python -m anvil.artifacts`` (``make artifacts``)."""

import json
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "core" / "chain" / "artifacts"
DEPLOYABLE = ["Coin", "Engagement", "TipRouter", "MeetingPass", "MeetingAuction"]


def _committed(name: str) -> dict:
    if not ARTIFACTS.is_dir():
        pytest.skip(f"{ARTIFACTS} does not exist yet")
    path = ARTIFACTS / f"{name}.json"
    if not path.exists():
        pytest.skip(f"no committed artifact for {name}")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", DEPLOYABLE)
def test_committed_abi_matches_source(project, name):
    artifact = _committed(name)
    contract_type = getattr(project, name).contract_type
    compiled = [json.loads(item.model_dump_json(by_alias=True, mode="json")) for item in contract_type.abi]
    assert [_strip(i) for i in artifact["abi"]] == [_strip(i) for i in compiled]


@pytest.mark.parametrize("name", DEPLOYABLE)
def test_committed_bytecode_matches_source(project, name):
    artifact = _committed(name)
    assert artifact["bytecode"] == getattr(project, name).contract_type.deployment_bytecode.bytecode


def test_test_helpers_are_not_exported():
    if not ARTIFACTS.is_dir():
        pytest.skip(f"{ARTIFACTS} does not exist yet")
    assert not {p.stem for p in ARTIFACTS.glob("*.json")} & {"ReentrantAttacker", "HookToken", "Wallet1271"}


def _strip(item: dict) -> dict:
    """Drop keys whose value is None/absent-equivalent so both serialisations compare equal."""
    if isinstance(item, dict):
        return {k: _strip(v) for k, v in item.items() if v is not None}
    if isinstance(item, list):
        return [_strip(v) for v in item]
    return item
