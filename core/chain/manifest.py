"""The deployment manifest: chain id, addresses, ABIs, deploy block and roles.

Written by ``anvil/deploy.py`` (or by hand for Sepolia); read by all three processes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import ConfigError

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


def _is_address(value: str) -> bool:
    return len(value) == 42 and value.startswith("0x") and all(c in "0123456789abcdefABCDEF" for c in value[2:])


class DeployedContract(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    abi: list[dict[str, Any]]
    deploy_block: int = Field(ge=0)
    tx_hash: str | None = None

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _is_address(value):
            raise ValueError(f"not an address: {value!r}")
        return value.lower()


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    chain_id: int = Field(gt=0)
    genesis_hash: str
    deploy_block: int = Field(ge=0)
    contracts: dict[str, DeployedContract]
    roles: dict[str, str] = Field(default_factory=dict)

    def contract(self, name: str) -> DeployedContract:
        try:
            return self.contracts[name]
        except KeyError:
            raise ConfigError(f"contract {name!r} is not in the deployment manifest") from None

    def address_of(self, name: str) -> str | None:
        """The address of ``name`` if the deployment has it (optional contracts: a feature is off without it)."""
        deployed = self.contracts.get(name)
        return deployed.address if deployed is not None else None

    def name_of(self, address: str) -> str | None:
        address = address.lower()
        for name, contract in self.contracts.items():
            if contract.address == address:
                return name
        return None

    def erc20_tokens(self) -> dict[str, DeployedContract]:
        """The contracts that are ERC-20 tokens (by their ``Transfer`` event)."""
        return {name: c for name, c in self.contracts.items() if erc20_transfer_fields(c.abi)}

    @property
    def addresses(self) -> list[str]:
        return [c.address for c in self.contracts.values()]


def erc20_transfer_fields(abi: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """Names of (from, to, value) of an ERC-20 ``Transfer`` in this ABI, if it has one.

    An ERC-721 ``Transfer`` has the same signature but an indexed token id: not a match.
    """
    for item in abi:
        if item.get("type") == "event" and item.get("name") == "Transfer":
            inputs = item["inputs"]
            if len(inputs) == 3 and inputs[2]["type"] == "uint256" and not inputs[2].get("indexed"):
                return inputs[0]["name"], inputs[1]["name"], inputs[2]["name"]
    return None


def load_manifest(path: Path) -> Manifest:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"deployment manifest not found at {path}; run `make up` or `make deploy`") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"deployment manifest {path} is not valid JSON: {exc}") from exc
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"deployment manifest {path} is invalid: {exc}") from exc


def write_manifest(manifest: Manifest, path: Path) -> None:
    """Write atomically so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest.model_dump(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_artifact(name: str) -> dict[str, Any]:
    """The committed ``{"abi": [...], "bytecode": "0x..."}`` of a contract."""
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        artifact: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no artifact for {name}; run `make artifacts`") from None
    return artifact
