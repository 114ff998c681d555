"""A submitted request with no receipt yet: rebroadcast it, re-sign it, cancel it or replace it once stuck.

Stuck transactions (not mined after ``stuck_blocks`` blocks or ``stuck_seconds``) are replaced with
the same nonce and fees bumped by >= 12.5 %, up to ``max_fee``. A cancellation is a zero-value
self-transaction at the nonce, with bumped fees. A transaction the node no longer knows (dropped by a
reorg) is rebroadcast; if its nonce was taken meanwhile (``relayer/proof.py``), the request is
re-signed with a new one. The confirming half (``relayer/confirm.py``) calls ``_unmined``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from relayer import proof
from relayer.base import FEE_HISTORY, RelayerBase
from relayer.metrics import FINISHED, REPLACEMENTS, RESUBMISSIONS
from relayer.policy import Fees, bump_fees, fees_from_history, is_stuck

log = logging.getLogger("relayer")


class Replacer(RelayerBase):
    async def _unmined(
        self,
        conn: asyncpg.Connection,
        request: asyncpg.Record,
        hashes: list[str],
        head: int,
        *,
        known: bool,
        mined_nonce: int,
        runnable_since: int | None = None,
    ) -> str | None:
        """A submitted request with no receipt: rebroadcast, re-sign, cancel or replace; returns a raw tx to send."""
        kind, tx_hash = request["kind"], request["tx_hash"]
        if not known:
            log.info("request %d: tx %s unknown to the node; re-broadcasting", request["id"], tx_hash)
            refusal = await self._broadcast(request["raw_tx"], kind)
            RESUBMISSIONS.labels(kind, "rebroadcast").inc()
            if refusal is not None and await self._nonce_taken(request, hashes):
                await self._resign(conn, request, refusal)
                return None
            # Refused for another reason (e.g. its max fee is below the base fee now): replace it once stuck.
        if mined_nonce > request["nonce"]:
            return None  # its nonce is mined: by one of its txs whose receipt is not served yet (never stuck)
        if request["cancel_requested_at"] is not None and request["cancel_tx_hash"] is None:
            return await self._replace(conn, request, head, cancel=True)
        elapsed = (datetime.now(UTC) - (request["submitted_at"] or request["updated_at"])).total_seconds()
        if request["nonce"] != mined_nonce:
            return None  # queued behind the account's next nonce: only that transaction can be stuck
        sent_block = request["submitted_block"] if request["submitted_block"] is not None else head
        if runnable_since is not None:
            sent_block = max(sent_block, runnable_since)  # blocks that mined our own earlier nonces don't count
        if not is_stuck(
            head=head,
            sent_block=sent_block,
            elapsed=elapsed,
            stuck_blocks=self.stuck_blocks,
            stuck_seconds=self.stuck_seconds,
        ):
            return None
        return await self._replace(conn, request, head)

    async def _nonce_taken(self, request: asyncpg.Record, hashes: list[str]) -> bool:
        """The request's nonce was mined by a transaction that is none of its own (one node's proof)."""
        return await proof.nonce_taken(self.rpc, self.signer_of(request), request["nonce"], hashes)

    async def _resign(self, conn: asyncpg.Connection, request: asyncpg.Record, refusal: str) -> None:
        if request["cancel_requested_at"] is not None:
            reason = f"cancelled: nonce {request['nonce']} was taken by another transaction ({refusal})"
            await conn.execute(self.q.mark_final, request["id"], "cancelled", None, reason, None)
            FINISHED.labels(request["kind"], "cancelled").inc()
            return
        if request["attempts"] >= self.max_attempts:
            await self._dead(conn, request, f"dropped {request['attempts']} times; last refusal: {refusal}", "dropped")
            return
        log.warning("request %d: nonce %d was taken (%s); re-signing", request["id"], request["nonce"], refusal)
        await conn.execute(self.q.requeue, request["id"], f"dropped; nonce {request['nonce']} taken: {refusal}")
        RESUBMISSIONS.labels(request["kind"], "resigned").inc()

    async def _replace(
        self, conn: asyncpg.Connection, request: asyncpg.Record, head: int, *, cancel: bool = False
    ) -> str | None:
        if request["max_fee_per_gas"] is None or request["gas_limit"] is None:
            return None  # signed before migration 0004 recorded fees: it can only be rebroadcast
        key = self.key_of(request)  # the key it is bound to: a replacement takes the same key and nonce
        if key is None:
            log.warning(
                "request %d: its key %s is not in the signer pool; it can only be resent, not replaced",
                request["id"],
                request["signer"],
            )
            return None
        previous = Fees(int(request["max_fee_per_gas"]), int(request["max_priority_fee_per_gas"]))
        market = fees_from_history(await self.rpc.call(*FEE_HISTORY))
        fees = bump_fees(previous, market, self.max_fee)
        if fees is None:
            log.warning("request %d: stuck at the fee cap (%d wei); waiting", request["id"], previous.max_fee_per_gas)
            return None
        if cancel:
            raw, tx_hash = key.sign(self._unsigned(request["nonce"], key.address, "0x", 21000, fees))
            query = self.q.mark_cancel_sent
        else:
            call = self._call_for(request)
            unsigned = self._unsigned(request["nonce"], call.to, call.data, int(request["gas_limit"]), fees)
            raw, tx_hash = key.sign(unsigned)
            query = self.q.mark_replaced
        await conn.execute(
            query, request["id"], tx_hash, raw, head, fees.max_fee_per_gas, fees.max_priority_fee_per_gas
        )
        REPLACEMENTS.labels(request["kind"]).inc()
        log.warning(
            "request %d: tx %s %s by %s (%s nonce %d, max fee %d -> %d wei)",
            request["id"],
            request["tx_hash"],
            "cancelled" if cancel else "stuck; replaced",
            tx_hash,
            key.address,
            request["nonce"],
            previous.max_fee_per_gas,
            fees.max_fee_per_gas,
        )
        return raw
