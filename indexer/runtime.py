"""The resources one ``python -m indexer`` command needs, opened and closed together.

Which chain and contracts: the deployment manifest's contracts plus the configured ones
(``INDEXER_CONTRACTS_PATH``); or, with no manifest (``INDEXER_MODE=standalone``, or no manifest
file beside a configuration), the configured contracts alone on the chain the node serves — its
chain id and genesis read from it, checked against the configuration's ``chain_id`` /
``genesis_hash`` when it gives them (README "Indexing any contract").
"""

from __future__ import annotations

import logging

import asyncpg

from core.chain.genesis import ForeignChain, node_chain
from core.chain.manifest import Manifest, load_manifest
from core.chain.rpc import RpcClient
from core.db import create_pool
from core.errors import AppError, ConfigError, RetryableError
from indexer.app import Indexer
from indexer.custom import QUERIES as CUSTOM_QUERIES
from indexer.custom.config import Configuration, load_configuration
from indexer.custom.sources import CustomSources
from indexer.custom.store import CustomStore
from indexer.projections import Projections
from indexer.settings import IndexerSettings
from indexer.store import QUERIES, Store, indexer_lock

log = logging.getLogger("indexer")


class Runtime:
    """Reads the configuration when built (a bad one fails before anything is opened); opens on enter."""

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        path = settings.contracts_path
        if settings.standalone and path is None:
            raise ConfigError("INDEXER_MODE=standalone indexes configured contracts only: set INDEXER_CONTRACTS_PATH")
        # No manifest: standalone, or a configuration given and no manifest file (nothing deployed here).
        self.known: Manifest | None = None
        if not settings.standalone and (path is None or settings.manifest_path.exists()):
            self.known = load_manifest(settings.manifest_path)
        self.config: Configuration | None = None
        if path is not None:
            self.config = load_configuration(path, set(self.known.addresses) if self.known else ())

    async def _manifest(self) -> Manifest:
        config = self.config
        if self.known is not None:
            if config is not None and config.chain_id not in (None, self.known.chain_id):
                raise ForeignChain(
                    f"the configuration expects chain id {config.chain_id}, the manifest is for {self.known.chain_id}"
                )
            return self.known
        assert config is not None
        try:
            chain_id, genesis = await node_chain(self.rpc, config.chain_id, config.genesis_hash)
        except RetryableError as exc:
            raise ConfigError(f"cannot read the chain id and genesis from the RPC node: {exc.message}") from exc
        log.info("no deployment manifest: the configured contracts on chain %d (genesis %s)", chain_id, genesis)
        return Manifest(chain_id=chain_id, genesis_hash=genesis, deploy_block=0, contracts={})

    async def __aenter__(self) -> Runtime:
        settings = self.settings
        self.rpc = RpcClient(settings.rpc_urls, batch_size=settings.rpc_batch_size)
        try:
            self.manifest = await self._manifest()
        except AppError:
            await self.rpc.close()
            raise
        self.projections = Projections.from_manifest(self.manifest, QUERIES)
        self.custom = (
            CustomStore(CUSTOM_QUERIES, CustomSources(self.config.contracts, self.manifest.chain_id))
            if self.config is not None
            else None
        )
        try:
            self.pool: asyncpg.Pool = await create_pool(settings.database_url, max_size=4, fast_numeric=True)
        except BaseException:
            await self.rpc.close()
            raise
        self.store = Store(self.pool, self.manifest.chain_id, self.projections, self.custom)
        self.indexer = Indexer(
            self.manifest,
            self.store,
            self.rpc,
            max_block_range=settings.max_block_range,
            finality_depth=settings.finality_depth,
            fetch_worker=settings.fetch_worker,
            defer_indexes_rows=settings.defer_indexes_rows,
        )
        self.lock = indexer_lock(settings.database_url, self.manifest.chain_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.lock.release()
        await self.rpc.close()
        await self.pool.close()

    async def exclusive(self) -> None:
        """Take the chain's writer lock or fail: one-shot writers never race the running indexer."""
        if not await self.lock.try_acquire():
            raise AppError("another indexer holds the writer lock for this chain; stop it first")
