"""``python -m indexer projections status|upgrade``: versioned projections, built beside and swapped."""

from __future__ import annotations

import json
import logging

import asyncpg

from core.chain.manifest import Manifest, load_manifest
from core.db import create_pool
from core.db.migrate import migrate
from core.errors import AppError
from indexer.rows import token_fields
from indexer.settings import IndexerSettings
from indexer.upgrade import definition, swap

log = logging.getLogger("indexer.upgrade")


def definitions(manifest: Manifest) -> list[definition.Definition]:
    return [definition.balances(token_fields(manifest))]


async def check_at_start(pool: asyncpg.Pool, defs: list[definition.Definition]) -> list[str]:
    """At the indexer's start: record an unrecorded version, name (and log) the changed ones."""
    changed = []
    for d in defs:
        await swap.record_if_unrecorded(pool, d)
        if (await swap.status(pool, d))["state"] == "changed":
            log.warning(
                "projection %s changed (now %s): run `python -m indexer projections upgrade`", d.name, d.version
            )
            changed.append(d.name)
    return changed


async def cmd_projections(settings: IndexerSettings, action: str, keep: int) -> int:
    if action not in ("status", "upgrade"):
        raise AppError(f"projections: unknown action {action!r} (status or upgrade)")
    await migrate(settings.database_url, owners=settings.migration_owners)
    manifest = load_manifest(settings.manifest_path)
    (d,) = definitions(manifest)
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        if action == "status":
            print(json.dumps([await swap.status(pool, d)], indent=2))  # noqa: T201 (CLI output)
            return 0
        state = (await swap.status(pool, d))["state"]
        if state == "current":
            log.info("%s is current (%s): nothing to do", d.name, d.version)
            return 0
        built = await swap.upgrade(pool, d, manifest.chain_id, keep)
        log.info("upgraded %s to %s (build: %.0f events/s)", d.name, d.version, built.events_s)
        return 0
    finally:
        await pool.close()
