"""Every migration applies to an empty database and every named query prepares against it."""

from pathlib import Path

import asyncpg
import pytest

from core.db import Queries
from core.db.migrate import apply_migrations, load_migrations
from core.errors import ConfigError
from core.settings import ROOT

QUERY_FILES = sorted(p for pkg in ("core", "indexer", "relayer", "api") for p in (ROOT / pkg).rglob("*.sql"))


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
async def test_every_named_query_prepares(pool: asyncpg.Pool, path: Path) -> None:
    queries = Queries(path)
    assert queries.items()
    async with pool.acquire() as conn:
        tr = conn.transaction()  # rolled back: nothing of what follows is kept
        await tr.start()
        if path.parent.name == "upgrade" and "create" in dict(queries.items()):
            # A projection built beside the served one: its queries name its shadow table.
            await conn.execute("CREATE SCHEMA projection_shadow")
            await conn.execute(queries.create)
        for name, sql in queries.items():
            try:
                await conn.prepare(sql)
            except asyncpg.PostgresError as exc:
                pytest.fail(f"{path.name}:{name} does not match the schema: {exc}")
        await tr.rollback()


async def test_migrations_are_recorded_and_idempotent(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in load_migrations()]
        assert await apply_migrations(conn) == []  # the template already had them all
    finally:
        await conn.close()


async def test_an_edited_migration_is_refused(db_url: str, tmp_path: Path) -> None:
    for migration in load_migrations():
        text = migration.sql + ("\n-- edited\n" if migration.version == 1 else "")
        (tmp_path / f"{migration.version:04d}_{migration.name}.sql").write_text(text)
    conn = await asyncpg.connect(db_url)
    try:
        with pytest.raises(ConfigError, match="forward-only"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()
