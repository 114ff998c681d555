"""Which configured tables are built beside (indexer/custom/versions.py): a contract added with history
is, a contract the indexer has not reached yet or a factory's child is created at once."""

from __future__ import annotations

import json

from core.settings import ROOT
from indexer.custom import versions
from indexer.custom.abi import event_tables
from indexer.custom.config import CustomContract, Factory

ABI = json.loads((ROOT / "core/chain/artifacts/Coin.json").read_text(encoding="utf-8"))["abi"]


def _contract(name: str, start: int, *, factory: bool = False) -> CustomContract:
    tables = tuple(event_tables(name, ABI, ["Transfer"]))
    if factory:
        return CustomContract(name, (), start, tables, Factory(("0x" + "aa" * 20,), tables[0], 1))
    return CustomContract(name, ("0x" + "bb" * 20,), start, tables, None)


def test_a_contract_added_with_history_is_built_beside() -> None:
    old, late, fresh = _contract("old", 0), _contract("late", 50), _contract("fresh", 500)
    child = _contract("child", 10, factory=True)
    wanted = [old, late, fresh, child]
    beside = versions.with_history(wanted, {"old"}, 100)
    assert beside == ["late"]  # fresh: the main loop reaches it; child: its children are not known yet
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
