"""Manual intent review (README "Manual intent review"): admins see pending tip intents with the approval
policy's verdict (``core/tips/policy.py``, the code the relayer's hourly ``approve_pending`` decides with) and
approve or refuse one ahead of the job. A decision takes the job's per-chain lock, locks the row and moves
it only from ``pending``: the job and an admin never both decide an intent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from api.settings import ApiSettings
from core.chain.eip712 import KIND_CLAP, KIND_GIFT, KIND_NAMES, Domain
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import Queries, translate_errors
from core.errors import Conflict, NotFound, ServiceUnavailable
from core.tips import policy
from core.tips.policy import Approver, Caps, Contracts

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
# Verdicts an admin may overrule when approving (judgement calls); the others would fail the settle batch.
OVERRULABLE = frozenset({"daily_cap", "blocked"})
LOCK_WAIT_MS = 10_000  # a running approval chunk holds the lock for one chunk


def review_view(row: dict[str, Any], verdict: str | None) -> dict[str, Any]:
    return {
        "id": row["id"], "digest": row["digest"], "user_id": row["user_id"], "sender": row["sender"],
        "receiver": row["receiver"], "token": row["token"], "amount": str(row["amount"]),
        "kind": KIND_NAMES[int(row["kind"])], "nonce": str(row["nonce"]), "deadline": str(row["deadline"]),
        "created_at": row["created_at"].isoformat(), "verdict": "approve" if verdict is None else "refuse",
        "verdict_reason": verdict,
    }  # fmt: skip


class IntentReview:
    def __init__(self, pool: asyncpg.Pool, rpc: RpcClient, manifest: Manifest, settings: ApiSettings) -> None:
        self.pool = pool
        self.rpc = rpc
        self.manifest = manifest
        self.chain_id = manifest.chain_id
        self.caps = Caps(
            settings.tips_daily_max_intents,
            {KIND_CLAP: settings.tips_daily_max_clap_amount, KIND_GIFT: settings.tips_daily_max_gift_amount},
        )
        self.q = QUERIES

    async def _verdicts(self, conn: asyncpg.Connection, rows: list[dict[str, Any]], domain: Domain) -> list[str | None]:
        """The policy over ``rows`` in order, as the job would run it now (approvals counted as it goes)."""
        coin = self.manifest.contract("Coin").address
        tokens = {KIND_CLAP: self.manifest.contract("Engagement").address, KIND_GIFT: coin}
        contracts = Contracts(tokens=tokens, coin=coin, router=self.manifest.contract("TipRouter").address)
        return await policy.decide(conn, self.rpc, Approver(self.chain_id, domain, contracts, self.caps), rows)

    async def pending(self, domain: Domain, after: int, limit: int) -> list[dict[str, Any]]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = [dict(r) for r in await conn.fetch(self.q.pending_page, self.chain_id, after, limit)]
            verdicts = await self._verdicts(conn, rows, domain)
        return [review_view(r, v) for r, v in zip(rows, verdicts, strict=True)]

    async def decide(
        self, domain: Domain, intent_id: int, admin_id: int, approve: bool, note: str | None
    ) -> dict[str, Any]:
        """Approve (when the policy allows it, or only an overrulable verdict stands) or refuse one intent."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if not await policy.lock(conn, self.chain_id, LOCK_WAIT_MS):
                raise ServiceUnavailable("the tip approver is busy; retry shortly")
            row = await conn.fetchrow(self.q.intent_for_update, self.chain_id, intent_id)
            if row is None:
                raise NotFound("no such intent", details={"id": intent_id})
            if row["status"] != "pending":
                raise Conflict("this intent was decided already", details={"status": row["status"]})
            intent = dict(row)
            (verdict,) = await self._verdicts(conn, [intent], domain)
            if approve and verdict is not None and verdict not in OVERRULABLE:
                raise Conflict("the approval policy refuses this intent", details={"verdict": verdict})
            status, reason = ("approved", None) if approve else ("refused", "manual")
            decided = await conn.fetchrow(self.q.decide_manually, intent_id, status, reason, admin_id, note)
        return {**review_view(intent, verdict), "status": decided["status"], "reason": decided["reason"],
                "decided_by": decided["decided_by"], "review_note": decided["review_note"],
                "decided_at": decided["decided_at"].isoformat()}  # fmt: skip
