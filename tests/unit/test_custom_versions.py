"""Which configured tables are built beside (indexer/custom/versions.py): a contract added with history
is (a factory with its children), a contract the indexer has not reached yet or the child of a factory
indexed already is created at once."""

from __future__ import annotations

import json

from core.settings import ROOT
from indexer.custom import rebuild, versions
from indexer.custom.abi import event_tables
from indexer.custom.config import CustomContract, Factory

ABI = json.loads((ROOT / "core/chain/artifacts/Coin.json").read_text(encoding="utf-8"))["abi"]


def _contract(name: str, start: int, *, factory: CustomContract | None = None) -> CustomContract:
    tables = tuple(event_tables(name, ABI, ["Transfer"]))
    if factory is not None:  # children announced by the factory's Transfer (its receiver argument)
        return CustomContract(name, (), start, tables, Factory(factory.addresses, factory.tables[0], 1))
    return CustomContract(name, ("0x" + name.encode().hex().ljust(40, "0"),), start, tables, None)


def test_a_contract_added_with_history_is_built_beside() -> None:
    old, late, fresh = _contract("old", 0), _contract("late", 50), _contract("fresh", 500)
    child = _contract("child", 10, factory=old)  # of a factory indexed already
    wanted = [old, late, fresh, child]
    beside = versions.with_history(wanted, {"old"}, 100)
    assert beside == ["late"]  # fresh: the main loop reaches it; child: its factory's history is not fetched
    assert versions.with_history(wanted, {"old"}, None) == []  # nothing indexed: everything from its start

    (served,) = old.tables
    registered = {served.table: {"signature": served.signature, "columns": [c.as_json() for c in served.columns]}}
    plan = versions.plan(wanted, registered, {"old", *beside})
    assert list(plan.pending) == ["late__transfer"]
    assert plan.pending["late__transfer"].served is None
    assert sorted(t.table for t in plan.create) == ["child__transfer", "fresh__transfer"]
    live = {c.name: c for c in plan.live}
    assert live["late"].tables == ()  # nothing written to it meanwhile: only its raw log is kept
    assert plan.raw_only["late"] == frozenset({late.tables[0].topic0})
    assert live["old"].tables == old.tables


def test_a_factory_added_with_history_brings_its_children_beside() -> None:
    factory = _contract("factory", 20)
    child, later = _contract("child", 30, factory=factory), _contract("later", 500, factory=factory)
    wanted = [factory, child, later]
    beside = versions.with_history(wanted, set(), 100)
    assert beside == ["factory", "child"]  # later: the main loop reaches its start block
    plan = versions.plan(wanted, {}, set(beside))
    assert sorted(plan.pending) == ["child__transfer", "factory__transfer"]
    assert [t.table for t in plan.create] == ["later__transfer"]
    live = {c.name: c for c in plan.live}
    assert live["child"].tables == () and live["child"].factory == child.factory  # children found meanwhile
    assert plan.raw_only["child"] == frozenset({child.tables[0].topic0})
    # Built and swapped together: one group for the factory and its children.
    groups = rebuild.groups(plan.pending, wanted)
    assert [sorted(p.wanted.table for p in g) for g in groups] == [["child__transfer", "factory__transfer"]]
    alone = rebuild.groups({"child__transfer": plan.pending["child__transfer"]}, wanted)
    assert [[p.wanted.table for p in g] for g in alone] == [["child__transfer"]]
