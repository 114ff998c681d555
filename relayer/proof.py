"""What the relayer takes as proof from the chain, behind providers that lag or load-balance.

A missing receipt or a low nonce from one answer proves nothing: the answering node may be some
blocks behind. Each check here asks its questions in one request (one node behind a balancer) and
concludes only from a node that has the height in question.
"""

from __future__ import annotations

from typing import Any

from core.chain.rpc import RpcClient
from core.errors import RpcError


async def dropped(rpc: RpcClient, tx_hash: str, block: int) -> bool:
    """The mined ``tx_hash`` of ``block`` was reorged out: a node that has ``block`` shows a block there
    without it, and has no receipt for it."""
    (there, receipt), _ = await rpc.answer(
        [("eth_getBlockByNumber", [hex(block), False]), ("eth_getTransactionReceipt", [tx_hash])], min_block=block
    )
    if isinstance(there, RpcError) or there is None or isinstance(receipt, RpcError) or receipt is not None:
        return False
    return tx_hash.lower() not in {str(h).lower() for h in there.get("transactions", [])}


async def nonce_taken(rpc: RpcClient, address: str, nonce: int, hashes: list[str]) -> bool:
    """``nonce`` was mined by a transaction that is none of ``hashes``: a node whose account nonce is past
    it has no receipt for any of them."""
    calls: list[tuple[str, list[Any]]] = [("eth_getTransactionCount", [address, "latest"])]
    calls += [("eth_getTransactionReceipt", [h]) for h in hashes]
    answers, _ = await rpc.answer(calls)
    count, receipts = answers[0], answers[1:]
    if isinstance(count, RpcError) or any(isinstance(r, RpcError) for r in receipts):
        return False
    return int(count, 16) > nonce and all(r is None for r in receipts)


async def pending_nonce_at(rpc: RpcClient, address: str, height: int) -> int | None:
    """The account's pending nonce, from a node at or above ``height`` (None: the answering node is below it)."""
    (head, pending), _ = await rpc.answer(
        [("eth_blockNumber", []), ("eth_getTransactionCount", [address, "pending"])], min_block=height
    )
    if isinstance(head, RpcError) or isinstance(pending, RpcError) or int(head, 16) < height:
        return None
    return int(pending, 16)
