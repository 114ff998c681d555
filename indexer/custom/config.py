"""The contracts configuration file (``INDEXER_CONTRACTS_PATH``), TOML or JSON by its suffix.

```toml
chain_id = 1                   # optional: the chain the node must serve (refused otherwise)
# genesis_hash = "0xd4e5..."   # optional: block 0's hash, the same check

[[contracts]]
name = "usdc"                  # lower-case identifier: tables are named usdc__<event>
abi = "abis/erc20.json"        # a JSON ABI (a list, or an artifact with an "abi" key); relative to this file
address = "0xA0b8..."          # or addresses = ["0x...", ...]
start_block = 17000000
# events = ["Transfer"]        # optional: only these events

[[contracts]]
name = "pair"
abi = "abis/pair.json"
start_block = 17000000
factory = { contract = "factory", event = "PairCreated", argument = "pair" }
```

A factory names another configured contract (indexed too), one of its events, and the
address argument of that event that gives each child's address.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from indexer.custom.abi import EventTable, event_tables

CONTRACT_NAME = r"^[a-z](?:_?[a-z0-9]){0,30}$"  # no double underscore: it separates contract and event


def _address(value: str) -> str:
    if not (len(value) == 42 and value.startswith("0x") and all(c in "0123456789abcdefABCDEF" for c in value[2:])):
        raise ValueError(f"not an address: {value[:60]!r}")
    return value.lower()


class FactoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: str = Field(pattern=CONTRACT_NAME)
    event: str = Field(min_length=1, max_length=63)
    argument: str = Field(min_length=1, max_length=63)


class ContractConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=CONTRACT_NAME)
    abi: Path
    address: str | None = None
    addresses: list[str] = Field(default_factory=list)
    factory: FactoryConfig | None = None
    start_block: int = Field(0, ge=0)
    events: list[str] | None = None

    @field_validator("address")
    @classmethod
    def _one(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("addresses")
    @classmethod
    def _many(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _source(self) -> ContractConfig:
        static = bool(self.address or self.addresses)
        if static == (self.factory is not None):
            raise ValueError("give either address/addresses or a factory")
        return self

    @property
    def static_addresses(self) -> list[str]:
        return sorted({*self.addresses, *([self.address] if self.address else [])})


class ContractsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: int | None = Field(None, gt=0)
    genesis_hash: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{64}$")
    contracts: list[ContractConfig] = Field(default_factory=list)


@dataclass(frozen=True)
class Configuration:
    """The configuration file: its contracts and the chain it expects the node to serve (if it says)."""

    contracts: list[CustomContract]
    chain_id: int | None = None
    genesis_hash: str | None = None


@dataclass(frozen=True)
class Factory:
    address_set: tuple[str, ...]  # the factory contract's addresses
    event: EventTable
    argument: int  # index of the child-address argument among the event's columns


@dataclass(frozen=True)
class CustomContract:
    name: str
    addresses: tuple[str, ...]
    start_block: int
    tables: tuple[EventTable, ...]
    factory: Factory | None


def _read_abi(path: Path) -> list[dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"ABI file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"ABI file {path} is not JSON: {exc}") from exc
    abi = raw.get("abi") if isinstance(raw, dict) else raw
    if not isinstance(abi, list):
        raise ConfigError(f"ABI file {path} holds neither a list nor an artifact with an 'abi' list")
    return abi


def parse_contracts(raw: Any, base: Path, manifest_addresses: Collection[str] = ()) -> list[CustomContract]:
    """Validate a parsed configuration; ABI paths are relative to ``base``."""
    return parse_configuration(raw, base, manifest_addresses).contracts


def parse_configuration(raw: Any, base: Path, manifest_addresses: Collection[str] = ()) -> Configuration:
    try:
        config = ContractsFile.model_validate(raw)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise ConfigError(f"contracts configuration is invalid: {fields}") from None
    names = [c.name for c in config.contracts]
    if len(set(names)) != len(names):
        raise ConfigError(f"contract names must be unique: {names}")
    by_name = {c.name: c for c in config.contracts}
    owner: dict[str, str] = {}
    for c in config.contracts:
        for address in c.static_addresses:
            if address in manifest_addresses:
                raise ConfigError(f"{c.name}: {address} is a contract of the deployment manifest (indexed already)")
            if address in owner:
                raise ConfigError(f"{c.name}: {address} is configured for {owner[address]} too")
            owner[address] = c.name
    built: dict[str, CustomContract] = {}
    for c in config.contracts:  # statics first: factories refer to them
        if c.factory is None:
            tables = tuple(event_tables(c.name, _read_abi(base / c.abi), c.events))
            built[c.name] = CustomContract(c.name, tuple(c.static_addresses), c.start_block, tables, None)
    for c in config.contracts:
        if c.factory is None:
            continue
        parent = built.get(c.factory.contract)
        if parent is None:
            kind = "a factory child" if c.factory.contract in by_name else "not configured"
            raise ConfigError(f"{c.name}: factory contract {c.factory.contract!r} is {kind}")
        event = next((t for t in parent.tables if t.event == c.factory.event), None)
        if event is None:
            raise ConfigError(f"{c.name}: {c.factory.contract} has no indexed event {c.factory.event!r}")
        arg = next((i for i, col in enumerate(event.columns) if col.name == c.factory.argument), None)
        if arg is None or event.columns[arg].type != "address":
            raise ConfigError(f"{c.name}: {c.factory.event} has no address argument {c.factory.argument!r}")
        tables = tuple(event_tables(c.name, _read_abi(base / c.abi), c.events))
        built[c.name] = CustomContract(c.name, (), c.start_block, tables, Factory(parent.addresses, event, arg))
    seen: dict[str, str] = {}
    for contract in built.values():
        for table in contract.tables:
            if table.table in seen:
                raise ConfigError(f"table {table.table} would be created twice")
            seen[table.table] = contract.name
    return Configuration([built[name] for name in names], config.chain_id, config.genesis_hash)


def load_contracts(path: Path, manifest_addresses: Collection[str] = ()) -> list[CustomContract]:
    """Read and validate the configuration file (``.toml`` or ``.json``)."""
    return load_configuration(path, manifest_addresses).contracts


def load_configuration(path: Path, manifest_addresses: Collection[str] = ()) -> Configuration:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"contracts configuration not found at {path}") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"contracts configuration {path} cannot be parsed: {exc}") from exc
    return parse_configuration(raw, path.parent, manifest_addresses)
