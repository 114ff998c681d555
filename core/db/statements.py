"""A migration's statements and the process owning each (``core/ownership.py``).

The indexer alone (``INDEXER_MODE=standalone``) applies only the statements on its own and
core's tables: a migration is split into statements (comments, quoted strings and ``$$``
bodies kept whole), and each statement is assigned the owner of the table it creates, alters,
indexes or writes. ``DROP INDEX IF EXISTS`` and ``CREATE SCHEMA`` are harmless anywhere; a
statement naming no table (a function) takes its file's owner when the file has one owner and
is refused in a file shared by several, so a migration that cannot be split fails loudly.
"""

from __future__ import annotations

import re

from core.errors import ConfigError
from core.ownership import CUSTOM_SCHEMA_OWNER, TABLES

ANY = "any"  # a statement every mode runs
_TARGET = [
    re.compile(r"^create (?:unique )?index (?:concurrently )?(?:if not exists )?\S+ on (?:only )?([a-z0-9_.\"]+)"),
    re.compile(r"^create (?:unlogged )?table (?:if not exists )?([a-z0-9_.\"]+)"),
    re.compile(r"^alter table (?:if exists )?(?:only )?([a-z0-9_.\"]+)"),
    re.compile(r"^insert into ([a-z0-9_.\"]+)"),
    re.compile(r"^update (?:only )?([a-z0-9_.\"]+) set "),
    re.compile(r"^delete from (?:only )?([a-z0-9_.\"]+)"),
    re.compile(r"^create (?:or replace )?(?:constraint )?trigger \S+ .*? on ([a-z0-9_.\"]+)"),
]
_VIEW = re.compile(r"^create (?:or replace )?view ")
_READS = re.compile(r"\b(?:from|join) (?!lateral\b)([a-z0-9_.]+)")
_HARMLESS = re.compile(r"^(?:drop index if exists |create schema )")


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql`` (without their ``;``), comments dropped, quoted parts kept whole."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            current.append(" ")
            continue
        if c in "'\"":
            end = i + 1
            while end < n and not (sql[end] == c and not sql.startswith(c * 2, end)):
                end += 2 if sql.startswith(c * 2, end) else 1
            current.append(sql[i : end + 1])
            i = end + 1
            continue
        if c == "$" and (tag := re.match(r"\$[A-Za-z_]*\$", sql[i:])):
            end = sql.find(tag.group(), i + len(tag.group()))
            end = n if end < 0 else end + len(tag.group())
            current.append(sql[i:end])
            i = end
            continue
        if c == ";":
            if text := "".join(current).strip():
                statements.append(text)
            current = []
        else:
            current.append(c)
        i += 1
    if text := "".join(current).strip():
        statements.append(text)
    return statements


def _owner_of_table(name: str, statement: str) -> str:
    name = name.replace('"', "")
    schema, _, table = name.rpartition(".")
    if schema == "custom_events":
        return CUSTOM_SCHEMA_OWNER
    entry = TABLES.get(table)
    if entry is None:
        raise ConfigError(f"migration statement on a table core/ownership.py does not list: {statement[:80]!r}")
    return entry.owner


def statement_owner(statement: str) -> str | None:
    """The owner of the table ``statement`` works on, :data:`ANY`, or None (names no table)."""
    flat = " ".join(statement.lower().split())
    if _HARMLESS.match(flat):
        return ANY
    for pattern in _TARGET:
        if match := pattern.match(flat):
            return _owner_of_table(match.group(1), statement)
    if _VIEW.match(flat):
        owners = {_owner_of_table(t, statement) for t in _READS.findall(flat)}
        if len(owners) == 1:
            return owners.pop()
        raise ConfigError(f"a view must read one owner's tables: {statement[:80]!r}")
    return None


def owned_statements(sql: str, owners: frozenset[str]) -> list[str]:
    """The statements of a migration that belong to ``owners`` (or to any)."""
    statements = split_statements(sql)
    found = [statement_owner(s) for s in statements]
    file_owners = {o for o in found if o not in (None, ANY)}
    kept = []
    for statement, named in zip(statements, found, strict=True):
        if named is None and len(file_owners) > 1:
            raise ConfigError(f"a statement naming no table in a migration shared by owners: {statement[:80]!r}")
        owner = named if named is not None else next(iter(file_owners), ANY)
        if owner == ANY or owner in owners:
            kept.append(statement)
    return kept
