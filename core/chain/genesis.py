"""One genesis rule for every process: the node must serve the manifest's chain.

An indexer with no manifest (configured contracts only) reads the chain id and genesis from the
node (:func:`node_chain`); the configuration's expected ``chain_id`` / ``genesis_hash``, when given,
must match, and the database's record of the chain (``core.db.chains``) still refuses another
genesis under the same chain id off the dev chain.

A node whose chain id or genesis differs from the deployment manifest's is refused (``ForeignChain``,
a configuration error: the process exits with the message). A "chain reset" (the database's rows were
written on another genesis of the same chain id) exists only on the dev chain, ``DEV_CHAIN_ID``:
``core.db.chains.register_chain`` refuses it anywhere else.
"""

from __future__ import annotations

from core.chain.rpc import RpcClient
from core.errors import ConfigError

DEV_CHAIN_ID = 31337  # anvil's: the only chain that can be reset under the same chain id


class ForeignChain(ConfigError):
    """The RPC node or the database describes another chain than the deployment manifest."""

    code = "foreign_chain"


def is_dev_chain(chain_id: int) -> bool:
    return chain_id == DEV_CHAIN_ID


async def check_genesis(rpc: RpcClient, chain_id: int, genesis_hash: str) -> str:
    """The node's genesis hash (lowercase) when it serves the manifest's chain; else ``ForeignChain``."""
    served = await rpc.chain_id()
    if served != chain_id:
        raise ForeignChain(f"the RPC node serves chain id {served}, the deployment manifest is for {chain_id}")
    genesis = await rpc.get_block(0)
    found = str(genesis["hash"]).lower() if genesis else None
    if found != genesis_hash.lower():
        raise ForeignChain(
            f"the RPC node's genesis {found} differs from the deployment manifest's {genesis_hash.lower()}:"
            " another chain (or a reset dev chain not redeployed); fix RPC_URLS or redeploy"
        )
    return found


async def node_chain(rpc: RpcClient, chain_id: int | None = None, genesis_hash: str | None = None) -> tuple[int, str]:
    """The node's chain id and genesis hash (lowercase), for an indexer with no deployment manifest.

    ``chain_id`` / ``genesis_hash``, when given (the configuration's expectation), must be the node's:
    else ``ForeignChain``, the same refusal as a manifest's.
    """
    served = await rpc.chain_id()
    if chain_id is not None and served != chain_id:
        raise ForeignChain(f"the RPC node serves chain id {served}, the configuration expects {chain_id}")
    genesis = await rpc.get_block(0)
    if not genesis:
        raise ForeignChain("the RPC node has no block 0: cannot tell which chain it serves")
    found = str(genesis["hash"]).lower()
    if genesis_hash is not None and found != genesis_hash.lower():
        raise ForeignChain(
            f"the RPC node's genesis {found} differs from the configuration's {genesis_hash.lower()}: another chain"
        )
    return served, found
