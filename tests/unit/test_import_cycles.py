"""No import circle anywhere in the product code: core, indexer, relayer, api, anvil.

The graph counts every import, ``if TYPE_CHECKING:`` ones included: a cycle through a type-only
import is still two modules that each need the other (a design circle), only hidden at run time.
A cycle is reported as the modules along it, each importing the next.
"""

from __future__ import annotations

import graphlib
import itertools
from pathlib import Path

import grimp
import pytest

PACKAGES = ("core", "indexer", "relayer", "api", "anvil")


def import_cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Cycles of the graph (module -> the modules it imports), found until none is left.

    Each found cycle loses one import before the next search, so every cycle is broken and a
    graph with circles yields at least one of each strongly connected group.
    """
    graph = {module: set(imported) for module, imported in imports.items()}
    found: list[list[str]] = []
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            # A list of nodes, each a predecessor (here: imported by) the next; the first is also the last.
            cycle: list[str] = exc.args[1]
            found.append(list(reversed(cycle)))
            graph[cycle[1]].discard(cycle[0])
        else:
            return found


def imports_of(*packages: str) -> dict[str, set[str]]:
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=False)
    return {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}


def test_the_cycle_finder_finds_cycles_and_only_them() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    cycles = import_cycles({"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"a"}})
    assert sorted(sorted(set(c)) for c in cycles) == [["a", "b"], ["c", "d"]]
    ring = {"x": {"y"}, "y": {"z"}, "z": {"x"}}
    (cycle,) = import_cycles(ring)
    assert cycle[0] == cycle[-1] and len(cycle) == 4
    assert all(imported in ring[module] for module, imported in itertools.pairwise(cycle))


def test_the_graph_holds_every_package() -> None:
    imports = imports_of(*PACKAGES)
    assert {module.split(".")[0] for module in imports} == set(PACKAGES)
    assert "core.chain.rpc" in imports["indexer.ranges"]  # a plain import is an edge


def test_a_cycle_through_a_type_checking_import_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "cycle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from cycle_probe import b\n"
    )
    (package / "b.py").write_text("from cycle_probe import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (cycle,) = import_cycles(imports_of("cycle_probe"))
    assert set(cycle) == {"cycle_probe.a", "cycle_probe.b"}


def test_no_import_cycle_in_product_code() -> None:
    cycles = import_cycles(imports_of(*PACKAGES))
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
