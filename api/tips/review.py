"""Manual intent review (README "Manual intent review"): admins see pending tip intents with the approval
policy's verdict (``core.tips_policy``, the code the relayer's hourly ``approve_pending`` decides with) and
approve or refuse one ahead of the job. A decision takes the job's per-chain lock, locks the row and moves
it only from ``pending``: the job and an admin never both decide an intent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from api.settings import ApiSettings
from core.chain.eip712 import KIND_CLAP, KIND_GIFT, KIND_NAMES, Domain, intent_digest, recover
from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.db import Queries, translate_errors
from core.errors import Conflict, NotFound
from core.tips_policy import Caps, Facts, Ledger, fact_calls, record, refusal, split_facts

QUERIES = Queries(Path(__file__).with_name("queries.sql"))
# Verdicts an admin may overrule when approving (judgement calls); the others would fail the settle batch.
OVERRULABLE = frozenset({"daily_cap", "blocked"})


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
        if not rows:
            return []
        coin, router = self.manifest.contract("Coin").address, self.manifest.contract("TipRouter").address
        tokens = {KIND_CLAP: self.manifest.contract("Engagement").address, KIND_GIFT: coin}
        block = await self.rpc.get_block("latest")
        head = int(block["timestamp"], 16) if block else 0
        answers = await self.rpc.batch([("eth_call", [{"to": to, "data": d}, "latest"]) for to, d in
                                        fact_calls(rows, coin, router)])  # fmt: skip
        balances, allowances, used = split_facts(rows, coin, [int(str(a), 16) for a in answers])
        args = ([r["sender"] for r in rows], [r["receiver"] for r in rows], [r["user_id"] for r in rows])
        blocked = {b["i"] for b in await conn.fetch(self.q.blocked_positions, *args)}
        ledger = Ledger()
        users = sorted({r["user_id"] for r in rows if r["user_id"] is not None})
        senders = sorted({r["sender"] for r in rows})
        for u in await conn.fetch(self.q.daily_usage, self.chain_id, users, senders):
            ledger.count[u["who"]] += u["n"]
            ledger.amount[(u["who"], u["kind"])] += int(u["amount"])
        for r in await conn.fetch(self.q.reserved, self.chain_id, senders):
            ledger.reserved[(r["sender"], r["token"])] += int(r["amount"])
        verdicts: list[str | None] = []
        for position, row in enumerate(rows, start=1):
            message = {**row, "from": row["sender"], "to": row["receiver"]}
            facts = Facts(
                head_timestamp=head,
                signer=recover(intent_digest(domain, message), row["signature"]),
                blocked=position in blocked,
                nonce_used=used[position - 1],
                balance=balances[(row["sender"], row["token"])],
                allowance=allowances.get(row["sender"]) if row["token"] == coin else None,
            )
            verdict = refusal(row, facts, tokens, self.caps, ledger)
            if verdict is None:
                record(row, ledger)
            verdicts.append(verdict)
        return verdicts

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
            await conn.execute(self.q.review_lock_timeout)
            await conn.execute(self.q.approver_lock, self.chain_id)
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
