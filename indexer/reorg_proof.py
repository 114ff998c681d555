"""Lagging is not a reorg: a rollback needs proof, a different hash at a height on a node that has it.

Behind a load balancer, or after a failover, the answering node may be some blocks behind: a lower
head or a missing block proves nothing. ``find_ancestor`` compares the stored blocks (highest first)
with the chain's: it proves a reorg only when the chain shows another hash at our highest stored
block, and stops without proof at the first height the node does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.chain.rpc import RpcClient
from core.errors import RpcError
from indexer.blocks import Checkpoint


@dataclass(frozen=True)
class Verdict:
    proven: bool  # the chain shows another hash at our highest stored block
    ancestor: Checkpoint | None = None  # the highest stored block still on the chain (None: none of them)


NO_PROOF = Verdict(proven=False)


async def find_ancestor(rpc: RpcClient, stored: list[Checkpoint]) -> Verdict:
    """Whether ``stored`` (highest first) was reorged out, and down to which of its blocks.

    Called once a node that has our checkpoint's height showed another block there: with nothing
    stored (the checkpoint is the block before the first indexed one) that is the proof.
    """
    if not stored:
        return Verdict(proven=True)
    answers = await rpc.batch_settled([("eth_getBlockByNumber", [hex(b.number), False]) for b in stored])
    for index, (mine, theirs) in enumerate(zip(stored, answers, strict=True)):
        if isinstance(theirs, RpcError) or theirs is None:
            return NO_PROOF  # the node lacks this height: lagging, or a shorter branch (proof comes later)
        if theirs["hash"].lower() == mine.hash:
            return Verdict(proven=True, ancestor=mine) if index else NO_PROOF
    return Verdict(proven=True)
