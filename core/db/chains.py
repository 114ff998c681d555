"""Chain identity: tells a reset development chain from the one the database describes."""

from __future__ import annotations

import asyncpg

from core.chain.genesis import ForeignChain, is_dev_chain


async def register_chain(conn: asyncpg.Connection, owner: str, chain_id: int, genesis_hash: str) -> bool:
    """Record the genesis hash ``owner`` works on; True when its rows describe another chain.

    A fresh anvil keeps chain id 31337 but has a new genesis hash; the owner (indexer,
    relayer) must then discard the rows it wrote for the old chain, in the same transaction.
    Anywhere but the dev chain another genesis under the same chain id is refused (``ForeignChain``).
    """
    previous = await conn.fetchval(
        "SELECT genesis_hash FROM chain_identity WHERE owner = $1 AND chain_id = $2 FOR UPDATE", owner, chain_id
    )
    if previous == genesis_hash:
        return False
    if previous is not None and not is_dev_chain(chain_id):
        raise ForeignChain(
            f"the {owner}'s rows describe chain {chain_id} with genesis {previous}, the node serves genesis"
            f" {genesis_hash}: a chain reset exists only on the dev chain ({chain_id} is not); refusing"
        )
    await conn.execute(
        """INSERT INTO chain_identity (owner, chain_id, genesis_hash) VALUES ($1, $2, $3)
           ON CONFLICT (owner, chain_id) DO UPDATE SET genesis_hash = EXCLUDED.genesis_hash, updated_at = now()""",
        owner,
        chain_id,
        genesis_hash,
    )
    return previous is not None
