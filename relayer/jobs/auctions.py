"""End expired auctions (the seed's per-minute cron), from the indexer's ``auctions`` table.

An auction is expired when it is still ``active`` and its end time is at or before the chain's
latest block time (``end_auction`` checks ``block.timestamp >= end_time``). Each one is queued
once: the idempotency key is the auction id; anyone else ending it first makes our request fail
its pre-flight without spending gas. An auction still active in the index after its request
failed or went dead (e.g. a reorg changed it: "not over", "not active") is queued again under
``<key>:<attempt>``; the chaos run found auctions left active forever without that.
"""

from __future__ import annotations

from core.queue import end_auction_key
from relayer.jobs import JobContext

LIMIT = 500  # per run; the next run takes the rest


async def end_auctions(ctx: JobContext) -> str:
    latest = await ctx.rpc.get_block("latest")
    assert latest is not None
    now = int(latest["timestamp"], 16)
    rows = await ctx.pool.fetch(ctx.store.q.expired_auctions, ctx.chain_id, now, LIMIT)
    created = 0
    for row in rows:
        auction_id = int(row["auction_id"])
        key = end_auction_key(ctx.chain_id, auction_id)
        tried = await ctx.pool.fetchrow(ctx.store.q.end_auction_attempts, key)
        if tried["attempts"] and not tried["live"]:  # every earlier request failed: try again
            key = end_auction_key(ctx.chain_id, auction_id, tried["attempts"])
        _, new = await ctx.store.enqueue_once("end_auction", key, {"auction_id": auction_id})
        created += new
    return f"{len(rows)} expired auction(s) at chain time {now}, {created} newly queued"
