"""The contracts configuration and ABI-derived tables: hostile names are refused, never quoted in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.db.identifiers import UnsafeIdentifier, qualified, quote
from core.errors import ConfigError
from indexer.custom.abi import EventTable, event_tables
from indexer.custom.config import load_contracts, parse_contracts

ADDRESS = "0x" + "ab" * 20
TRANSFER = {
    "type": "event", "name": "Transfer", "anonymous": False,
    "inputs": [{"name": "from", "type": "address", "indexed": True}, {"name": "to", "type": "address", "indexed": True},
               {"name": "value", "type": "uint256", "indexed": False}],
}  # fmt: skip


def _event(name: str, *inputs: tuple[str, str, bool]) -> dict[str, Any]:
    return {"type": "event", "name": name, "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in inputs]}


@pytest.mark.parametrize(
    "abi",
    [
        _event('x"; DROP TABLE users; --', ("a", "uint256", False)),
        _event("Ok", ('a"b', "uint256", False)),
        _event("Ok", ("a b", "address", True)),
        _event("Ok", ("ä", "address", True)),
        _event("Ok", ("x" * 64, "address", True)),
        _event("Évènement", ("a", "uint256", False)),
        _event("Ok", ("a", "uint256); DROP TABLE x; --", False)),
        _event("Ok", ("a", "fixed128x18", False)),
        _event("Ok", ("a", "uint7", False)),
        _event("Ok", ("A", "uint256", False), ("a", "uint256", False)),  # same column once lower-cased
        _event("Ok", ("a", "address", True), ("b", "address", True), ("c", "address", True), ("d", "address", True)),
        _event("E" * 60, ("a", "uint256", False)),  # table name longer than 63 bytes
    ],
)
def test_hostile_or_broken_abi_items_are_refused(abi: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        EventTable("probe", abi)


def test_columns_are_typed_and_base_names_are_prefixed() -> None:
    table = EventTable(
        "probe",
        _event("Mixed", ("address", "address", True), ("", "uint8", False), ("flag", "bool", False),
               ("data", "bytes", False), ("tags", "string[]", False), ("pair", "tuple", False)),
    )  # fmt: skip
    assert table.table == "probe__mixed"
    assert [(c.column, c.sql) for c in table.columns] == [
        ("arg_address", "text"), ("arg1", "numeric(78,0)"), ("flag", "boolean"), ("data", "text"),
        ("tags", "jsonb"), ("pair", "jsonb"),
    ]  # fmt: skip
    assert all('"' in statement for statement in table.ddl())  # every identifier quoted


def test_overloaded_events_need_a_choice() -> None:
    other = _event("Transfer", ("from", "address", True), ("to", "address", True), ("id", "uint256", True))
    with pytest.raises(ConfigError, match="overloaded"):
        event_tables("nft", [TRANSFER, other])
    with pytest.raises(ConfigError, match="no such events"):
        event_tables("nft", [TRANSFER], ["Approval"])


def test_identifiers_are_checked_before_quoting() -> None:
    assert quote("from") == '"from"' and qualified("usdc__transfer") == '"custom_events"."usdc__transfer"'
    for bad in ('a"b', "A", "1a", "a-b", "", "a" * 64, "a;b", "a\x00"):
        with pytest.raises(UnsafeIdentifier):
            quote(bad)


def _write(tmp: Path, contracts: list[dict[str, Any]]) -> Path:
    (tmp / "erc20.json").write_text(json.dumps({"abi": [TRANSFER]}))
    path = tmp / "contracts.json"
    path.write_text(json.dumps({"contracts": contracts}))
    return path


def test_a_valid_configuration_with_a_factory(tmp_path: Path) -> None:
    created = _event("Created", ("child", "address", True))
    (tmp_path / "factory.json").write_text(json.dumps([created]))
    path = _write(tmp_path, [
        {"name": "usdc", "abi": "erc20.json", "address": ADDRESS, "start_block": 5},
        {"name": "factory", "abi": "factory.json", "addresses": ["0x" + "cd" * 20]},
        {"name": "child", "abi": "erc20.json",
         "factory": {"contract": "factory", "event": "Created", "argument": "child"}},
    ])  # fmt: skip
    contracts = load_contracts(path)
    assert [c.name for c in contracts] == ["usdc", "factory", "child"]
    assert contracts[0].addresses == (ADDRESS,) and contracts[0].start_block == 5
    assert contracts[2].factory is not None and contracts[2].factory.address_set == ("0x" + "cd" * 20,)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "Bad-Name", "abi": "erc20.json", "address": ADDRESS}, "invalid"),
        ({"name": "a__b", "abi": "erc20.json", "address": ADDRESS}, "invalid"),
        ({"name": "usdc", "abi": "erc20.json"}, "either"),
        ({"name": "usdc", "abi": "erc20.json", "address": "0x1234"}, "invalid"),
        ({"name": "usdc", "abi": "missing.json", "address": ADDRESS}, "not found"),
        ({"name": "usdc", "abi": "erc20.json", "address": ADDRESS, "extra": 1}, "invalid"),
        ({"name": "kid", "abi": "erc20.json", "factory": {"contract": "nope", "event": "E", "argument": "a"}},
         "not configured"),
        ({"name": "kid", "abi": "erc20.json",
          "factory": {"contract": "usdc", "event": "Transfer", "argument": "value"}},
         "no address argument"),
    ],
)  # fmt: skip
def test_invalid_configurations_are_refused(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    base = {"name": "usdc", "abi": "erc20.json", "address": "0x" + "ef" * 20}
    contracts = [entry] if entry.get("name") == "usdc" else [base, entry]
    with pytest.raises(ConfigError, match=message):
        load_contracts(_write(tmp_path, contracts))


def test_a_manifest_address_or_a_duplicate_is_refused(tmp_path: Path) -> None:
    raw = {"contracts": [{"name": "usdc", "abi": "erc20.json", "address": ADDRESS}]}
    (tmp_path / "erc20.json").write_text(json.dumps([TRANSFER]))
    with pytest.raises(ConfigError, match="manifest"):
        parse_contracts(raw, tmp_path, {ADDRESS})
    same = "0x" + ADDRESS[2:].upper()  # the same address, other case
    twice = {"contracts": [*raw["contracts"], {"name": "usdt", "abi": "erc20.json", "address": same}]}
    with pytest.raises(ConfigError, match="too"):
        parse_contracts(twice, tmp_path)


def test_toml_configuration(tmp_path: Path) -> None:
    (tmp_path / "erc20.json").write_text(json.dumps([TRANSFER]))
    path = tmp_path / "contracts.toml"
    path.write_text(f'[[contracts]]\nname = "usdc"\nabi = "erc20.json"\naddress = "{ADDRESS}"\nstart_block = 3\n')
    assert load_contracts(path)[0].tables[0].table == "usdc__transfer"
    path.write_text("[[contracts]\n")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        load_contracts(path)
