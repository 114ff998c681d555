"""The API's pools skip asyncpg's reset query on release (core/db/pool.py ``session_reset=False``): nothing
the API runs may leave state in the session for the next request on that connection. This reads the API's
SQL (and the core modules it shares) for what the reset query would have undone."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import ROOT

# What RESET ALL, UNLISTEN *, pg_advisory_unlock_all() and CLOSE ALL undo. A session setting is a statement
# that starts with SET (not SET LOCAL, not an UPDATE's SET clause): at the start of a string or after a ";".
SESSION_STATE = {
    "a session setting (SET without LOCAL)": re.compile(r"""(["']|;)\s*SET\s+(?!LOCAL\b|TRANSACTION\b)"""),
    "set_config(..., false)": re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I),
    "LISTEN": re.compile(r"""(["']|;)\s*LISTEN\b|\.add_listener\("""),
    "a session advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "a temporary table": re.compile(r"CREATE\s+(TEMP|TEMPORARY)\b", re.I),
    "a cursor kept open": re.compile(r"WITH\s+HOLD\b", re.I),
}
# On connections of their own, never a pool's: the live feed's LISTEN, leader locks, the migration lock.
OWN_CONNECTIONS = {"api/live/listener.py", "core/db/leader.py", "core/db/migrate.py"}


def _statements(sql: str) -> str:
    """A queries file as one string a statement (each quoted), so statement starts look as they do in Python."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return " ".join(f'"{statement.strip()}"' for statement in body.split(";") if statement.strip())


def _sources() -> list[Path]:
    return sorted(p for folder in ("api", "core") for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sql"))


def test_the_api_keeps_no_session_state_on_pooled_connections() -> None:
    found = []
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        if name in OWN_CONNECTIONS:
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".sql":
            text = _statements(text)
        for what, pattern in SESSION_STATE.items():
            if match := pattern.search(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {what}")
    assert not found, found


def test_the_check_sees_each_kind_of_session_state() -> None:
    samples = [
        ("a session setting (SET without LOCAL)", 'await conn.execute("SET statement_timeout = 0")'),
        ("a session setting (SET without LOCAL)", _statements("-- name: x\nSELECT 1;\nSET search_path = x;")),
        ("set_config(..., false)", "SELECT set_config('app.user', $1, false)"),
        ("LISTEN", "await conn.add_listener('x', cb)"),
        ("LISTEN", _statements("-- name: x\nLISTEN chain_events;")),
        ("a session advisory lock", "SELECT pg_advisory_lock(1)"),
        ("a temporary table", "CREATE TEMP TABLE t (x int)"),
        ("a cursor kept open", "DECLARE c CURSOR WITH HOLD FOR SELECT 1"),
    ]
    for what, sample in samples:
        assert SESSION_STATE[what].search(sample), (what, sample)
    allowed = [
        'await conn.execute("SET LOCAL lock_timeout = 5")',
        _statements("-- name: x\nUPDATE users\nSET name = $1\nWHERE id = $2;"),
        '"""Set a user\'s role"""',
        "SELECT pg_advisory_xact_lock(1)",
    ]
    for sample in allowed:
        assert not any(p.search(sample) for p in SESSION_STATE.values()), sample
