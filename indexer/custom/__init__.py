"""Contracts indexed by configuration: an ABI file, an address or a factory, a start block."""

from __future__ import annotations

from pathlib import Path

from core.chain.manifest import Manifest
from core.db import Queries
from indexer.custom.config import load_contracts
from indexer.custom.sources import CustomSources
from indexer.custom.store import CustomStore

QUERIES = Queries(Path(__file__).parent.parent / "queries.sql")


def custom_store(path: Path | None, manifest: Manifest) -> CustomStore | None:
    """The configured contracts' store, or None when no configuration is given."""
    if path is None:
        return None
    contracts = load_contracts(path, set(manifest.addresses))
    return CustomStore(QUERIES, CustomSources(contracts, manifest.chain_id))
