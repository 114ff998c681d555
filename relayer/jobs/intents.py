"""Tipping jobs (seed 000): approve pending intents hourly, settle approved ones in batches.

``approve_pending`` applies the approval policy to each ``pending`` intent: a valid signature
for the TipRouter's domain, the token of its kind, the deadline not passed and the nonce unused
on chain, the sender on no block list (the admin's, or the receiving creator's), under the
per-user daily caps (``RELAYER_TIPS_DAILY_*``), and the fan's balance (and, for a gift, Coin
allowance to the router) covering this intent plus every approved one not yet settled. The
intent becomes ``approved`` or ``refused`` with the reason. One approver runs at a time per
chain (a transaction advisory lock), so caps and reservations are never double-counted.

``settle_approved`` claims up to ``RELAYER_TIPS_SETTLE_BATCH`` approved intents with
``FOR UPDATE SKIP LOCKED``, enqueues them as one ``settle`` request (idempotency key: a hash of
the batch's digests and tries) and marks them ``submitted``, in one transaction: two relayers
never put one intent in two batches. It repeats until no approved intent is left. Intents whose
settle request failed or went dead without an on-chain outcome are approved again first.

Final statuses are not written here: the API joins the indexer's ``intent_outcomes`` (by digest)
when it reads an intent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from core.chain.eip712 import KIND_CLAP, KIND_GIFT, Domain, fetch_domain, intent_digest, recover
from core.db import Queries, translate_errors
from core.queue import MAX_BATCH, TxRequest, enqueue, settle_key
from core.tips_policy import Caps, Facts, Ledger, fact_calls, record, refusal, split_facts
from relayer.jobs import JobContext

log = logging.getLogger("relayer.jobs.intents")
QUERIES = Queries(Path(__file__).with_name("intents.sql"))
_RPC_CHUNK = 100
MAX_SETTLE_BATCHES = 100  # per run; a backlog beyond 100 batches waits for the next run


async def _eth_calls(ctx: JobContext, calls: list[tuple[str, str]]) -> list[int]:
    results: list[int] = []
    for start in range(0, len(calls), _RPC_CHUNK):
        chunk = calls[start : start + _RPC_CHUNK]
        answers = await ctx.rpc.batch([("eth_call", [{"to": to, "data": data}, "latest"]) for to, data in chunk])
        results.extend(int(str(a), 16) for a in answers)
    return results


async def _chain_facts(
    ctx: JobContext, rows: list[dict[str, Any]], coin: str, router: str
) -> tuple[dict[tuple[str, str], int], dict[str, int], list[bool]]:
    return split_facts(rows, coin, await _eth_calls(ctx, fact_calls(rows, coin, router)))


async def _head_timestamp(ctx: JobContext) -> int:
    block = await ctx.rpc.get_block("latest")
    assert block is not None
    return int(block["timestamp"], 16)


def _tokens(ctx: JobContext) -> dict[int, str]:
    return {KIND_CLAP: ctx.manifest.contract("Engagement").address, KIND_GIFT: ctx.manifest.contract("Coin").address}


async def _load_ledger(conn: asyncpg.Connection, chain_id: int, rows: list[dict[str, Any]]) -> Ledger:
    ledger = Ledger()
    users = sorted({r["user_id"] for r in rows if r["user_id"] is not None})
    senders = sorted({r["sender"] for r in rows})
    for u in await conn.fetch(QUERIES.daily_usage, chain_id, users, senders):
        ledger.count[u["who"]] += u["n"]
        ledger.amount[(u["who"], u["kind"])] += int(u["amount"])
    for r in await conn.fetch(QUERIES.reserved, chain_id, senders):
        ledger.reserved[(r["sender"], r["token"])] += int(r["amount"])
    return ledger


async def _approve_chunk(ctx: JobContext, domain: Domain, caps: Caps) -> tuple[int, dict[str, int]] | None:
    """Decide one chunk of pending intents in one transaction; None when another approver holds the lock."""
    tokens, coin = _tokens(ctx), ctx.manifest.contract("Coin").address
    router = ctx.manifest.contract("TipRouter").address
    refused: dict[str, int] = defaultdict(int)
    approved = 0
    async with translate_errors(), ctx.pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(QUERIES.try_lock, ctx.chain_id, "approve"):
            return None
        rows = [dict(r) for r in await conn.fetch(QUERIES.claim_pending, ctx.chain_id, ctx.settings.tips_approve_batch)]
        if not rows:
            return 0, {}
        head = await _head_timestamp(ctx)
        blocked_at = {
            b["i"]
            for b in await conn.fetch(
                QUERIES.blocked,
                [r["sender"] for r in rows],
                [r["receiver"] for r in rows],
                [r["user_id"] for r in rows],
            )
        }
        balances, allowances, used = await _chain_facts(ctx, rows, coin, router)
        ledger = await _load_ledger(conn, ctx.chain_id, rows)
        decisions = []
        for position, row in enumerate(rows, start=1):
            signer = recover(
                intent_digest(domain, {**row, "from": row["sender"], "to": row["receiver"]}), row["signature"]
            )
            facts = Facts(
                head_timestamp=head,
                signer=signer,
                blocked=position in blocked_at,
                nonce_used=used[position - 1],
                balance=balances[(row["sender"], row["token"])],
                allowance=allowances.get(row["sender"]) if row["token"] == coin else None,
            )
            reason = refusal(row, facts, tokens, caps, ledger)
            if reason is None:
                record(row, ledger)
                approved += 1
            else:
                refused[reason] += 1
            decisions.append((row["id"], "approved" if reason is None else "refused", reason))
        await conn.executemany(QUERIES.decide, decisions)
    return approved, refused


async def approve_pending(ctx: JobContext) -> str:
    """The hourly approval: every pending intent becomes approved or refused (with its reason)."""
    domain = await fetch_domain(ctx.rpc, ctx.manifest)
    s = ctx.settings
    caps = Caps(
        s.tips_daily_max_intents, {KIND_CLAP: s.tips_daily_max_clap_amount, KIND_GIFT: s.tips_daily_max_gift_amount}
    )
    approved, refused = 0, defaultdict[str, int](int)
    while True:
        result = await _approve_chunk(ctx, domain, caps)
        if result is None:
            return "another approver is running"
        done, reasons = result
        approved += done
        for reason, n in reasons.items():
            refused[reason] += n
        if done + sum(reasons.values()) == 0:
            break
    summary = f"approved {approved}, refused {sum(refused.values())}"
    if refused:
        summary += " (" + ", ".join(f"{k} {v}" for k, v in sorted(refused.items())) + ")"
    log.info("tips: %s", summary)
    return summary


batch_key = settle_key  # the settle kind's key builder (core/queue)


def _settle_payload(rows: list[dict[str, Any]]) -> dict[str, Any]:
    intents = [
        {"from": r["sender"], "to": r["receiver"], "token": r["token"], "amount": r["amount"], "kind": str(r["kind"]),
         "nonce": r["nonce"], "deadline": r["deadline"]}
        for r in rows
    ]  # fmt: skip
    return {"intents": intents, "signatures": [r["signature"] for r in rows]}


async def _settle_one(ctx: JobContext, head: int) -> tuple[int, int, int | None]:
    """One batch in one transaction: (intents batched, intents expired, request id)."""
    size = min(ctx.settings.tips_settle_batch, MAX_BATCH)
    async with translate_errors(), ctx.pool.acquire() as conn, conn.transaction():
        rows = [dict(r) for r in await conn.fetch(QUERIES.claim_approved, ctx.chain_id, size)]
        expired = [r["id"] for r in rows if Decimal(r["deadline"]) <= head]
        if expired:
            await conn.execute(QUERIES.expire, expired)
        rows = [r for r in rows if r["id"] not in set(expired)]
        if not rows:
            return 0, len(expired), None
        key = settle_key([r["digest"] for r in rows], [r["settle_tries"] for r in rows])
        request_id = (await enqueue(conn, TxRequest("settle", key, _settle_payload(rows)))).id  # a re-run reuses it
        await conn.execute(QUERIES.mark_submitted, [r["id"] for r in rows], request_id)
        return len(rows), len(expired), int(request_id)


async def settle_approved(ctx: JobContext) -> str:
    """Weekly (or at N approved): approved intents into ``settle`` requests of at most N intents."""
    head = await _head_timestamp(ctx)
    async with translate_errors():
        retried = len(await ctx.pool.fetch(QUERIES.requeue_failed, ctx.chain_id))
    batched, expired, requests = 0, 0, []
    for _ in range(MAX_SETTLE_BATCHES):
        n, gone, request_id = await _settle_one(ctx, head)
        batched, expired = batched + n, expired + gone
        if request_id is not None:
            requests.append(request_id)
        if n == 0 and gone == 0:
            break
    summary = f"{batched} intents in {len(requests)} settle requests {requests}, {expired} expired"
    if retried:
        summary += f" ({retried} re-batched after a failed settle)"
    log.info("tips: %s", summary)
    return summary


async def approved_backlog(ctx: JobContext) -> int:
    """How many approved intents wait for a batch (for a scheduler's settle-at-N trigger)."""
    async with translate_errors():
        return int(await ctx.pool.fetchval(QUERIES.approved_backlog, ctx.chain_id))


async def settle_due(ctx: JobContext) -> bool:
    """The scheduler's settle-at-N trigger: a full batch of approved intents waits."""
    return await approved_backlog(ctx) >= ctx.settings.tips_settle_batch
