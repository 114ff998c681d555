"""Applies the numbered, forward-only SQL files in ``migrations/``.

Each file runs in its own transaction, under an advisory lock so that several processes
starting together apply each migration once. ``python -m core.db.migrate [DATABASE_URL]``.

The indexer alone (``INDEXER_MODE=standalone``, :data:`INDEXER_ALONE`) applies only the statements on
the indexer's and core's tables (``core/db/statements.py``), recorded in ``schema_migrations_indexer``:
such a database never gets the application's tables, and the two kinds of database are never mixed
(each mode refuses the other's).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from core.db.statements import owned_statements
from core.errors import ConfigError
from core.settings import ROOT, SharedSettings

MIGRATIONS_DIR = ROOT / "migrations"
_LOCK_KEY = 0x6D696772  # "migr"
_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
log = logging.getLogger("migrate")
INDEXER_ALONE = frozenset({"indexer", "core"})  # the owners whose statements the indexer alone applies
FULL, ALONE = "schema_migrations", "schema_migrations_indexer"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise ConfigError(f"migration file name must look like 0001_name.sql: {path.name}")
        migrations.append(Migration(int(match["version"]), match["name"], path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ConfigError(f"two migration files share a version: {versions}")
    return migrations


async def apply_migrations(
    conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR, *, owners: frozenset[str] | None = None
) -> list[int]:
    """Apply the pending migrations (only ``owners``' statements when given); the versions applied now."""
    migrations = load_migrations(directory)
    table, other = (FULL, ALONE) if owners is None else (ALONE, FULL)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", other) and await conn.fetchval(
            f"SELECT EXISTS (SELECT FROM {other})"
        ):
            raise ConfigError(
                "this database holds the indexer alone (INDEXER_MODE=standalone); the application needs its own"
                if owners is None
                else "this database holds the whole application's schema; run the indexer without INDEXER_MODE"
                "=standalone there, or give it a database of its own"
            )
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {table} (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"]: r["checksum"] for r in await conn.fetch(f"SELECT version, checksum FROM {table}")}
        applied = []
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise ConfigError(
                        f"migration {migration.version:04d}_{migration.name} changed after it was applied; "
                        "migrations are forward-only: add a new file instead"
                    )
                continue
            statements = [migration.sql] if owners is None else owned_statements(migration.sql, owners)
            async with conn.transaction():
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    f"INSERT INTO {table} (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %04d_%s (%d statements)", migration.version, migration.name, len(statements))
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def migrate(dsn: str, *, owners: frozenset[str] | None = None) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(conn, owners=owners)
    finally:
        await conn.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-5s %(name)s: %(message)s")
    dsn = sys.argv[1] if len(sys.argv) > 1 else SharedSettings().database_url
    applied = asyncio.run(migrate(dsn))
    log.info("database is at the latest schema (%d applied now)", len(applied))


if __name__ == "__main__":
    main()
