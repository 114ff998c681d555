"""Chain identity: tells a reset development chain from the one the database describes."""

from __future__ import annotations

import asyncpg


async def register_chain(conn: asyncpg.Connection, owner: str, chain_id: int, genesis_hash: str) -> bool:
    """Record the genesis hash ``owner`` works on; True when its rows describe another chain.

    A fresh anvil keeps chain id 31337 but has a new genesis hash; the owner (indexer,
    relayer) must then discard the rows it wrote for the old chain, in the same transaction.
    """
    previous = await conn.fetchval(
        "SELECT genesis_hash FROM chain_identity WHERE owner = $1 AND chain_id = $2 FOR UPDATE", owner, chain_id
    )
    if previous == genesis_hash:
        return False
    await conn.execute(
        """INSERT INTO chain_identity (owner, chain_id, genesis_hash) VALUES ($1, $2, $3)
           ON CONFLICT (owner, chain_id) DO UPDATE SET genesis_hash = EXCLUDED.genesis_hash, updated_at = now()""",
        owner,
        chain_id,
        genesis_hash,
    )
    return previous is not None
