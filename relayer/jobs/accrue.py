"""Daily TKI accrual (the seed's "accrual daily at midnight UTC"): ``Engagement.accrue``.

Policy: every account with a linked wallet (``user_wallets``, linked before the run was due)
earns ``RELAYER_ACCRUE_AMOUNT`` TKI per period, paid to its first linked wallet. The set is read
as of the due time, so a re-run of the same period builds the same requests. Accounts are cut
into chunks of ``MAX_ACCRUALS``; chunk ``c`` of period ``p`` is epoch ``p * 1000 + c`` (the
contract accrues an epoch once), and the idempotency key is that epoch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.queue import MAX_ACCRUALS, accrue_key
from relayer.jobs import JobContext

CHUNKS_PER_PERIOD = 1000


def epoch_of(period: int, chunk: int) -> int:
    if not 0 <= chunk < CHUNKS_PER_PERIOD:
        raise ValueError(f"chunk {chunk} out of range")
    return period * CHUNKS_PER_PERIOD + chunk


async def accrue(ctx: JobContext) -> str:
    if ctx.period is None:
        return "not a periodic run: nothing to accrue"
    amount = ctx.settings.accrue_amount
    if amount == 0:
        return "RELAYER_ACCRUE_AMOUNT is 0: nothing to accrue"
    due = ctx.due_at or datetime.now(UTC)
    accounts = sorted(r["address"] for r in await ctx.pool.fetch(ctx.store.q.accrual_accounts, due))
    if not accounts:
        return f"period {ctx.period}: no account with a linked wallet"
    created = 0
    chunks = [accounts[i : i + MAX_ACCRUALS] for i in range(0, len(accounts), MAX_ACCRUALS)]
    for chunk, members in enumerate(chunks):
        epoch = epoch_of(ctx.period, chunk)
        payload = {"epoch": epoch, "accounts": members, "amounts": [amount] * len(members)}
        _, new = await ctx.store.enqueue_once("accrue", accrue_key(ctx.chain_id, epoch), payload)
        created += new
    return f"period {ctx.period}: {len(accounts)} accounts x {amount} in {len(chunks)} epoch(s), {created} newly queued"
