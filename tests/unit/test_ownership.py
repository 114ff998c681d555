"""Every write to a table comes from its owner (core/ownership.py): scanned in every .sql file and SQL string."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core.ownership import CUSTOM_SCHEMA_OWNER, SHADOW_SCHEMA, TABLES
from core.settings import ROOT

PROCESSES = ("core", "indexer", "relayer", "api")


def _name(match: re.Match[str]) -> str:
    """A written table's name; one in the shadow schema is its namesake's, any other schema stays qualified."""
    schema, table = (match["schema"] or "").lower(), match["table"].lower()
    return table if schema in ("", SHADOW_SCHEMA) else f"{schema}.{table}"


_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|(?<!\bFOR\s)(?<!\bDO\s)UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?)\s+"
    r"(?:ONLY\s+)?(?:(?P<schema>[a-z_][a-z0-9_]*)\.)?(?P<table>[a-z_][a-z0-9_]*)\b",
    re.IGNORECASE,
)
_SQL_STRING = re.compile(r"^\s*(?:WITH|INSERT|UPDATE|DELETE|SELECT|COPY|TRUNCATE|CREATE|ALTER)\b")
_COPY_CALLS = {"copy_records_to_table": 0, "copy_to_table": 0, "copy_rows": 1}  # name -> the table's argument
_COPY_HELPER = "core/db/copy.py"  # copy_rows itself: its callers are scanned instead


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _sql_texts(path: Path) -> tuple[list[str], list[ast.Call]]:
    if path.suffix == ".sql":
        return [path.read_text()], []
    tree = ast.parse(path.read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    strings = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) in _COPY_CALLS]
    return [s for s in strings if _SQL_STRING.match(s)], calls


def _writes() -> list[tuple[str, str]]:
    """(table, file) for every write in product code; a COPY into a table named at run time is ``custom.*``."""
    found: list[tuple[str, str]] = []
    for process in PROCESSES:
        for path in sorted((ROOT / process).rglob("*")):
            if path.suffix not in (".sql", ".py"):
                continue
            relative = path.relative_to(ROOT).as_posix()
            texts, calls = _sql_texts(path)
            for text in texts:
                flat = re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", text))
                found += [(_name(m), relative) for m in _WRITE.finditer(flat)]
            for call in calls if relative != _COPY_HELPER else []:
                position = _COPY_CALLS[_called(call)]
                arg = call.args[position] if len(call.args) > position else None
                table = arg.value if isinstance(arg, ast.Constant) else "custom.*"
                found.append((str(table), relative))
    return found


def _allowed(table: str, path: str) -> bool:
    if table == "custom.*":
        return path.startswith(f"{CUSTOM_SCHEMA_OWNER}/")
    declared = TABLES[table]
    return path.startswith(f"{declared.owner}/") or any(path.startswith(prefix) for prefix in declared.also)


def test_every_write_comes_from_the_tables_owner() -> None:
    writes = _writes()
    assert len(writes) > 50  # the scan sees the code (a broken pattern finds nothing and passes nothing)
    unknown = sorted({t for t, _ in writes if t != "custom.*" and t not in TABLES})
    assert unknown == [], f"tables written but not in core/ownership.py: {unknown}"
    stray = sorted({(t, p) for t, p in writes if not _allowed(t, p)})
    assert stray == [], f"writes by a process that does not own the table: {stray}"


def test_every_table_of_the_migrations_has_an_owner() -> None:
    created = set()
    for path in (ROOT / "migrations").glob("*.sql"):
        created |= {m.lower() for m in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)", path.read_text(), re.I)}
    assert created, "no CREATE TABLE found in migrations/"
    assert sorted(created - set(TABLES)) == []
    assert sorted(set(TABLES) - created - {"schema_migrations", "schema_migrations_indexer"}) == []  # the runner's own


def test_only_the_queue_contract_enqueues() -> None:
    inserts = {p for t, p in _writes() if t == "tx_requests"}
    assert inserts == {"core/queue/queries.sql", "relayer/queries.sql"}
    enqueues = {
        p.relative_to(ROOT).as_posix()
        for process in PROCESSES
        for p in (ROOT / process).rglob("*.sql")
        if re.search(r"INSERT\s+INTO\s+tx_requests", p.read_text(), re.I)
    }
    assert enqueues == {"core/queue/queries.sql"}


def test_the_scan_sees_each_kind_of_write_and_no_lock() -> None:
    sql = (
        "INSERT INTO a (x) VALUES (1) ON CONFLICT (x) DO UPDATE SET x = 2; UPDATE b SET x = 1; "
        "DELETE FROM c WHERE x = 1; COPY d FROM STDIN; TRUNCATE TABLE e; SELECT * FROM f FOR UPDATE SKIP LOCKED"
    )
    assert [m["table"] for m in _WRITE.finditer(sql)] == ["a", "b", "c", "d", "e"]
    assert not _allowed("tx_requests", "api/tips/queries.sql")  # the API's own SQL may not enqueue
    assert _allowed("tx_requests", "core/queue/queries.sql") and _allowed("tx_requests", "relayer/queries.sql")
