"""``python -m indexer projections status|upgrade``: versioned projections, built beside and swapped."""

from __future__ import annotations

import json
import logging

import asyncpg

from core.chain.genesis import check_genesis
from core.chain.manifest import Manifest
from core.db.migrate import migrate
from core.errors import AppError
from indexer.custom import QUERIES, rebuild, versions
from indexer.rows import token_fields
from indexer.runtime import Runtime
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
    async with Runtime(settings) as rt:
        (d,) = definitions(rt.manifest)
        pool, custom = rt.pool, rt.custom
        registered = {r["table_name"]: r for r in await pool.fetch(QUERIES.custom_registered)} if custom else {}
        if action == "status":
            rows = [await swap.status(pool, d), *(versions.status(custom.wanted, registered) if custom else [])]
            print(json.dumps(rows, indent=2))  # noqa: T201 (CLI output)
            return 0
        state = (await swap.status(pool, d))["state"]
        if state == "current":
            log.info("%s is current (%s): nothing to do", d.name, d.version)
        else:
            built = await swap.upgrade(pool, d, rt.manifest.chain_id, keep)
            log.info("upgraded %s to %s (build: %.0f events/s)", d.name, d.version, built.events_s)
        if custom is None:
            return 0
        # The configured tables: the running indexer rebuilds its own at its start; here, with it stopped.
        await rt.exclusive()
        await rt.store.prepare(await check_genesis(rt.rpc, rt.manifest.chain_id, rt.manifest.genesis_hash))
        if not custom.pending:
            log.info("configured tables are current: nothing to do")
            return 0
        reader = rt.indexer.reader
        step = reader.state.max_range
        done = await rebuild.upgrade_pending(pool, custom, reader.get_logs, reader.block_times, keep, step=step)
        log.info("rebuilt %d of %d configured tables: %s", len(done), len(done) + len(custom.pending), done)
        return 0 if not custom.pending else 1
