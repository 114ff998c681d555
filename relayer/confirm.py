"""The confirming half: confirm, fail, re-broadcast, replace, cancel or re-sign submitted requests.

Stuck transactions (not mined after ``stuck_blocks`` blocks or ``stuck_seconds``) are replaced
with the same nonce and fees bumped by >= 12.5 %, up to ``max_fee``; every hash a request used
is kept in ``tx_hashes`` and whichever of them is mined confirms it. A request whose cancellation
was asked for (``requests cancel``) gets a zero-value self-transaction at its nonce with bumped
fees; if that one is mined the request is ``cancelled``, if the original won the race it is
``confirmed``. A transaction dropped by a reorg is rebroadcast; if its nonce was taken meanwhile,
the request is re-signed with a new one.

A pass reads the receipts of up to ``confirm_batch`` requests, the blocks they name and the
node's knowledge of the unmined ones in JSON-RPC batches, and writes the outcomes at once; what becomes
of an unmined one (rebroadcast, re-sign, cancel, replace) is ``relayer/replace.py``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from core.errors import NonRetryableRpcError, RetryableError, RpcError
from relayer import proof
from relayer.base import revert_data
from relayer.metrics import FAILURES, FINISHED, LATENCY, RESUBMISSIONS
from relayer.policy import decode_revert
from relayer.replace import Replacer

log = logging.getLogger("relayer")

RPC_BATCH = 1000


class Confirmer(Replacer):
    async def _many(self, method: str, params: list[list[Any]]) -> list[Any]:
        """One method over many parameter lists, in batches; a retryable failure of one item raises."""
        results: list[Any] = []
        for start in range(0, len(params), RPC_BATCH):
            chunk = await self.rpc.batch_settled([(method, p) for p in params[start : start + RPC_BATCH]])
            for item in chunk:
                if isinstance(item, RetryableError):
                    raise item
                results.append(None if isinstance(item, RpcError) else item)
        return results

    async def _receipts(self, hashes: list[str]) -> dict[str, dict[str, Any]]:
        unique = list(dict.fromkeys(hashes))
        found = await self._many("eth_getTransactionReceipt", [[h] for h in unique])
        return {h: dict(r) for h, r in zip(unique, found, strict=True) if r is not None}

    @staticmethod
    def _best(hashes: list[str], receipts: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """The receipt of whichever of a request's transactions was mined (a successful one first)."""
        found = None
        for tx_hash in reversed(hashes):
            receipt = receipts.get(tx_hash)
            if receipt is not None:
                if int(receipt["status"], 16) == 1:
                    return receipt
                found = found or receipt
        return found

    async def check_submitted(self, limit: int | None = None) -> int:
        """One page of the confirmation sweep: up to ``limit`` submitted requests after the sweep's cursor (back
        to the start once a page comes back short); returns how many became final."""
        limit = limit or self.confirm_batch
        to_send: list[tuple[str, int, str, str]] = []
        async with self.store.pool.acquire() as conn:
            async with conn.transaction():
                requests = await conn.fetch(self.q.claim_submitted, limit, self._sweep_after)
                self._sweep_after = requests[-1]["id"] if len(requests) == limit else 0
                if not requests:
                    return 0
                signers = sorted({self.signer_of(r) for r in requests})
                answers = await self.rpc.batch(
                    [("eth_blockNumber", []), *[("eth_getTransactionCount", [s, "latest"]) for s in signers]]
                )
                head = int(answers[0], 16)
                mined = {s: int(n, 16) for s, n in zip(signers, answers[1:], strict=True)}
                hashes = {r["id"]: list(r["tx_hashes"] or [r["tx_hash"]]) for r in requests}
                # A tx above its key's mined nonce has no receipt (a later pass sees it once its nonce is mined).
                asked = [r for r in requests if r["nonce"] < mined[self.signer_of(r)]]
                receipts = await self._receipts([h for r in asked for h in hashes[r["id"]]])
                best = {r["id"]: self._best(hashes[r["id"]], receipts) for r in requests}
                deep = {
                    int(rc["blockNumber"], 16)
                    for rc in best.values()
                    if rc is not None and head - int(rc["blockNumber"], 16) + 1 >= self.confirmations
                }
                numbers = sorted(deep)
                blocks = await self._many("eth_getBlockByNumber", [[hex(n), False] for n in numbers])
                canonical = {n: b["hash"].lower() for n, b in zip(numbers, blocks, strict=True) if b is not None}
                finals = []
                for request in requests:
                    receipt = best[request["id"]]
                    if receipt is not None:
                        outcome = await self._outcome(request, receipt, head, canonical)
                        if outcome is not None:
                            finals.append((request, *outcome))
                unmined = [r for r in requests if best[r["id"]] is None]
                known = await self._known(unmined, mined)
                runnable = {s: await self._runnable_since(conn, s, mined[s], requests, best) for s in signers}
                for request in unmined:
                    signer = self.signer_of(request)
                    raw = await self._unmined(
                        conn,
                        request,
                        hashes[request["id"]],
                        head,
                        known=request["id"] in known,
                        mined_nonce=mined[signer],
                        runnable_since=runnable[signer],
                    )
                    if raw is not None:
                        to_send.append((signer, request["nonce"], raw, request["kind"]))
                if finals:
                    self.crash_point("after_mined")
                    rows = [(r["id"], *rest, best[r["id"]]["blockHash"].lower()) for r, *rest in finals]  # type: ignore[index]
                    await conn.executemany(self.q.mark_mined_final, rows)
                    self._finished_metrics(finals)
            await self._broadcast_many([(raw, kind) for _, _, raw, kind in sorted(to_send)])
        return len(finals)

    async def recheck_unfinal(self, head: int) -> int:
        """Finished requests mined less than ``finality_blocks`` deep whose tx a reorg dropped go back in flight.

        Returns how many were reopened. Their tx is then rebroadcast (the node forgot it), left to be mined
        again (the node still holds it) or re-signed (its nonce was taken meanwhile) by the confirmation pass.
        """
        rows = await self.store.pool.fetch(self.q.recent_finished, head - self.finality_blocks, self.confirm_batch)
        if not rows:
            return 0
        # A block still canonical at its height holds what it held: only the others' receipts are asked.
        heights = sorted({r["block_number"] for r in rows if r["block_hash"] is not None})
        blocks = await self._many("eth_getBlockByNumber", [[hex(n), False] for n in heights])
        canonical = {n: b["hash"].lower() for n, b in zip(heights, blocks, strict=True) if b is not None}
        suspects = [r for r in rows if r["block_hash"] is None or canonical.get(r["block_number"]) != r["block_hash"]]
        if not suspects:
            return 0
        receipts = await self._receipts([r["tx_hash"] for r in suspects])
        # A receipt missing from one answer proves nothing (a lagging node): ask for proof (``proof``).
        dropped = [
            r
            for r in suspects
            if r["tx_hash"] not in receipts and await proof.dropped(self.rpc, r["tx_hash"], r["block_number"])
        ]
        if dropped:
            await self.store.pool.executemany(self.q.reopen, [(r["id"], r["status"]) for r in dropped])
            for request in dropped:
                RESUBMISSIONS.labels(request["kind"], "reorged").inc()
                log.warning(
                    "request %d (%s): its tx %s (%s in block %d) was dropped by a reorg; back in flight",
                    request["id"],
                    request["kind"],
                    request["tx_hash"],
                    request["status"],
                    request["block_number"],
                )
        return len(dropped)

    async def _known(self, unmined: list[asyncpg.Record], mined: dict[str, int]) -> set[int]:
        """Ids of the unmined requests whose tx the node holds (or that need not be asked).

        Asking costs the node (~0.6 ms each on anvil), so only the txs that must be mined next (the account's next
        nonce) or whose nonce was mined without their receipt (dropped and taken?) are asked; the ones queued behind
        are asked too only when the next one was unknown (e.g. after a crash between persisting and sending).
        Per key of the pool: each is its own nonce lane.
        """
        first = [r for r in unmined if r["nonce"] <= mined[self.signer_of(r)]]
        answers = await self._many("eth_getTransactionByHash", [[r["tx_hash"]] for r in first])
        known = {r["id"] for r, tx in zip(first, answers, strict=True) if tx is not None}
        lost = {self.signer_of(r) for r in first if r["nonce"] == mined[self.signer_of(r)] and r["id"] not in known}
        rest = [r for r in unmined if r["nonce"] > mined[self.signer_of(r)]]
        ask = [r for r in rest if self.signer_of(r) in lost]
        answers = await self._many("eth_getTransactionByHash", [[r["tx_hash"]] for r in ask])
        known |= {r["id"] for r, tx in zip(ask, answers, strict=True) if tx is not None}
        known |= {r["id"] for r in rest if self.signer_of(r) not in lost}
        return known

    async def _runnable_since(
        self,
        conn: asyncpg.Connection,
        signer: str,
        mined_nonce: int,
        requests: list[asyncpg.Record],
        best: dict[int, dict[str, Any] | None],
    ) -> int | None:
        """The block that mined the nonce before the account's next one: from then on, the tx at the next nonce
        could have been mined (None when unknown, e.g. it was no request's)."""
        for request in requests:
            receipt = best[request["id"]]
            if self.signer_of(request) == signer and request["nonce"] == mined_nonce - 1 and receipt is not None:
                return int(receipt["blockNumber"], 16)
        block: int | None = await conn.fetchval(self.q.block_of_nonce, signer, mined_nonce - 1)
        return block

    async def _outcome(
        self, request: asyncpg.Record, receipt: dict[str, Any], head: int, canonical: dict[int, str]
    ) -> tuple[str, int, str | None, str] | None:
        """(status, block, error, mined hash) once final, else None (too shallow, or reorged out)."""
        block = int(receipt["blockNumber"], 16)
        if head - block + 1 < self.confirmations:
            return None
        if canonical.get(block) != receipt["blockHash"].lower():
            return None  # reorged out; the node re-includes or forgets it, the next pass sees which
        mined_hash = receipt["transactionHash"].lower()
        if request["cancel_tx_hash"] is not None and (receipt.get("to") or "").lower() == self.signer_of(request):
            return "cancelled", block, "cancelled: a zero-value self-transaction took its nonce", mined_hash
        if int(receipt["status"], 16) == 1:
            return "confirmed", block, None, mined_hash
        return "failed", block, await self._revert_reason(request, block), mined_hash

    def _finished_metrics(self, finals: list[tuple[asyncpg.Record, str, int, str | None, str]]) -> None:
        now = datetime.now(UTC)
        for request, status, block, _, mined_hash in finals:
            kind = request["kind"]
            FINISHED.labels(kind, status).inc()
            if status == "confirmed" and request["first_submitted_at"] is not None:
                LATENCY.labels(kind).observe((now - request["first_submitted_at"]).total_seconds())
            elif status == "failed":
                FAILURES.labels(kind, "reverted").inc()
            log.info("request %d (%s) %s in block %d (tx %s)", request["id"], kind, status, block, mined_hash)

    async def _revert_reason(self, request: asyncpg.Record, block: int) -> str:
        call = self._call_for(request)
        try:
            tx = {"from": self.signer_of(request), "to": call.to, "data": call.data}
            await self.rpc.call("eth_call", [tx, hex(block - 1)])
        except NonRetryableRpcError as exc:
            return decode_revert(revert_data(exc))
        return "reverted on chain"
