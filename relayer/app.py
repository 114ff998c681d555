"""The sending loop: claim a request, pre-flight it, sign it with a persisted nonce, send, confirm.

Crash safety: the signed raw transaction, its hash and nonce are committed *before* the
broadcast. After a crash the request is ``submitted`` with a raw transaction the node may
never have seen; the confirmation pass re-broadcasts it, so the same nonce is never given
to a different transaction and nothing is sent twice.

Stuck transactions (not mined after ``stuck_blocks`` blocks or ``stuck_seconds``) are replaced
with the same nonce and fees bumped by >= 12.5 %, up to ``max_fee``; every hash a request used
is kept in ``tx_hashes`` and whichever of them is mined confirms it. A transaction dropped by a
reorg is rebroadcast; if its nonce was taken meanwhile, the request is re-signed with a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from eth_account.signers.local import LocalAccount

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import InvalidInput, NonRetryableRpcError, RetryableError
from relayer.calls import build_call
from relayer.metrics import (
    FAILURES,
    FINISHED,
    KINDS,
    LATENCY,
    NONCE,
    NONCE_GAPS,
    QUEUE,
    REPLACEMENTS,
    RESUBMISSIONS,
    STATUSES,
    SUBMITTED,
)
from relayer.policy import (
    GWEI,
    Fees,
    backoff_seconds,
    bump_fees,
    decode_revert,
    fees_from_history,
    is_stuck,
    next_nonce,
    reconciled_nonce,
)
from relayer.store import Store

log = logging.getLogger("relayer")


def _revert_data(exc: NonRetryableRpcError) -> str | None:
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) else None


class Relayer:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        rpc: RpcClient,
        account: LocalAccount,
        *,
        confirmations: int = 1,
        max_attempts: int = 5,
        stuck_blocks: int = 3,
        stuck_seconds: float = 60.0,
        max_fee_gwei: float = 500.0,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.q = store.q
        self.rpc = rpc
        self.account = account
        self.address = account.address.lower()
        self.chain_id = manifest.chain_id
        self.confirmations = confirmations
        self.max_attempts = max_attempts
        self.stuck_blocks = stuck_blocks
        self.stuck_seconds = stuck_seconds
        self.max_fee = int(max_fee_gwei * GWEI)

    async def prepare(self) -> None:
        if await self.rpc.chain_id() != self.chain_id:
            raise RuntimeError("the RPC node's chain id differs from the deployment manifest's")
        genesis = await self.rpc.get_block(0)
        assert genesis is not None
        if await self.store.prepare(self.chain_id, genesis["hash"].lower()):
            log.warning("the chain was reset since the last run: nonces forgotten, in-flight requests requeued")
        await self.reconcile_nonce()

    async def reconcile_nonce(self) -> None:
        """Close nonce gaps: a persisted next nonce above the chain's that no in-flight tx holds is freed,
        holes below an in-flight tx are filled with zero-value self-transactions."""
        fillers: list[str] = []
        async with self.store.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q.ensure_nonce_row, self.chain_id, self.address)
            persisted = await conn.fetchval(self.q.lock_nonce, self.chain_id, self.address)
            pending = int(await self.rpc.call("eth_getTransactionCount", [self.address, "pending"]), 16)
            if persisted <= pending:
                return
            inflight = [r["nonce"] for r in await conn.fetch(self.q.inflight_nonces, self.address)]
            reconciled, holes = reconciled_nonce(persisted, pending, inflight)
            if reconciled == persisted and not holes:
                return
            log.warning(
                "nonce gap: persisted next %d, chain pending %d, in flight %s; next becomes %d, filling %s",
                persisted,
                pending,
                inflight,
                reconciled,
                holes,
            )
            NONCE_GAPS.inc(len(holes) + (reconciled != persisted))
            if holes:
                fees = self._capped(fees_from_history(await self.rpc.call("eth_feeHistory", [5, "latest", [50]])))
                for nonce in holes:
                    signed = self.account.sign_transaction(
                        self._unsigned(nonce, self.account.address, "0x", 21000, fees)
                    )
                    fillers.append("0x" + signed.raw_transaction.hex())
            await conn.execute(self.q.set_nonce, self.chain_id, self.address, reconciled)
            NONCE.set(reconciled)
        for raw in fillers:
            await self._broadcast(raw, "filler")

    def _capped(self, fees: Fees) -> Fees:
        max_fee = min(fees.max_fee_per_gas, self.max_fee)
        return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=min(fees.max_priority_fee_per_gas, max_fee))

    async def submit_one(self) -> bool:
        """Claim, pre-flight, sign, persist and broadcast one pending request. False when none is ready."""
        async with self.store.pool.acquire() as conn:
            async with conn.transaction():
                request = await conn.fetchrow(self.q.claim_pending)
                if request is None:
                    return False
                raw = await self._prepare_tx(conn, request)
            if raw is not None:
                await self._broadcast(raw, request["kind"])
        return True

    async def _dead(self, conn: asyncpg.Connection, request: asyncpg.Record, reason: str, stage: str) -> None:
        await conn.execute(self.q.mark_final, request["id"], "dead", None, reason, None)
        FINISHED.labels(request["kind"], "dead").inc()
        FAILURES.labels(request["kind"], stage).inc()
        log.error("request %d (%s) is dead: %s", request["id"], request["kind"], reason)

    async def _prepare_tx(self, conn: asyncpg.Connection, request: asyncpg.Record) -> str | None:
        """Inside the claim transaction: returns the raw tx persisted as submitted, or None if settled otherwise."""
        kind = request["kind"]
        try:
            call = build_call(self.manifest, kind, request["payload"])
            tx: dict[str, Any] = {"from": self.account.address, "to": call.to, "data": call.data}
            try:
                await self.rpc.call("eth_call", [tx, "pending"])
                gas = int(await self.rpc.call("eth_estimateGas", [tx, "pending"]), 16)
            except NonRetryableRpcError as exc:
                reason = decode_revert(_revert_data(exc)) if _revert_data(exc) else exc.message
                log.warning("request %d (%s) would revert: %s; not sent", request["id"], kind, reason)
                await conn.execute(self.q.mark_final, request["id"], "failed", None, f"pre-flight: {reason}", None)
                FINISHED.labels(kind, "failed").inc()
                FAILURES.labels(kind, "preflight").inc()
                return None
            history = await self.rpc.call("eth_feeHistory", [5, "latest", [50]])
            fees = self._capped(fees_from_history(history))
            head = await self.rpc.block_number()
            await conn.execute(self.q.ensure_nonce_row, self.chain_id, self.address)
            persisted = await conn.fetchval(self.q.lock_nonce, self.chain_id, self.address)
            pending = int(await self.rpc.call("eth_getTransactionCount", [self.address, "pending"]), 16)
            nonce = next_nonce(persisted, pending)
            unsigned = self._unsigned(nonce, call.to, call.data, gas * 12 // 10, fees)
            signed = self.account.sign_transaction(unsigned)
            raw = "0x" + signed.raw_transaction.hex()
            tx_hash = "0x" + signed.hash.hex()
            await conn.execute(
                self.q.mark_submitted,
                request["id"],
                self.address,
                nonce,
                tx_hash,
                raw,
                head,
                unsigned["gas"],
                fees.max_fee_per_gas,
                fees.max_priority_fee_per_gas,
            )
            await conn.execute(self.q.set_nonce, self.chain_id, self.address, nonce + 1)
            NONCE.set(nonce + 1)
            log.info("request %d (%s) signed: nonce %d, tx %s", request["id"], kind, nonce, tx_hash)
            return raw
        except InvalidInput as exc:
            await self._dead(conn, request, str(exc), "invalid")
            return None
        except RetryableError as exc:
            attempts = request["attempts"] + 1
            if attempts >= self.max_attempts:
                await self._dead(conn, request, f"gave up after {attempts} attempts: {exc}", "retries")
            else:
                await conn.execute(self.q.mark_retry, request["id"], str(exc), backoff_seconds(attempts))
            return None

    def _unsigned(self, nonce: int, to: str, data: str, gas: int, fees: Fees) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to,
            "data": data,
            "value": 0,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "type": 2,
        }

    async def _broadcast(self, raw: str, kind: str) -> str | None:
        """Send a raw tx; returns the node's refusal, if any (retryable failures are left to the next pass)."""
        try:
            await self.rpc.call("eth_sendRawTransaction", [raw])
            SUBMITTED.labels(kind).inc()
        except NonRetryableRpcError as exc:
            # "already known"/"nonce too low" after a resend: the confirmation pass sorts it out.
            log.warning("broadcast answered: %s", exc.message)
            return exc.message
        except RetryableError as exc:
            log.warning("broadcast failed (%s); the confirmation pass will resend", exc)
        return None

    async def _best_receipt(self, hashes: list[str]) -> dict[str, Any] | None:
        """The receipt of whichever of a request's transactions was mined (a successful one first)."""
        found = None
        for tx_hash in reversed(hashes):
            receipt = await self.rpc.call("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                if int(receipt["status"], 16) == 1:
                    return dict(receipt)
                found = found or dict(receipt)
        return found

    async def check_submitted(self, limit: int = 50) -> int:
        """Confirm, fail, re-broadcast, replace or re-sign submitted requests; returns how many became final."""
        finished = 0
        head = await self.rpc.block_number()
        to_send: list[tuple[str, str]] = []
        async with self.store.pool.acquire() as conn:
            async with conn.transaction():
                for request in await conn.fetch(self.q.claim_submitted, limit):
                    hashes = list(request["tx_hashes"] or [request["tx_hash"]])
                    receipt = await self._best_receipt(hashes)
                    if receipt is None:
                        raw = await self._unmined(conn, request, hashes, head)
                        if raw is not None:
                            to_send.append((raw, request["kind"]))
                        continue
                    if await self._finish(conn, request, receipt, head):
                        finished += 1
            for raw, kind in to_send:
                await self._broadcast(raw, kind)
        return finished

    async def _finish(
        self, conn: asyncpg.Connection, request: asyncpg.Record, receipt: dict[str, Any], head: int
    ) -> bool:
        block = int(receipt["blockNumber"], 16)
        if head - block + 1 < self.confirmations:
            return False
        canonical = await self.rpc.get_block(block)
        if canonical is None or canonical["hash"].lower() != receipt["blockHash"].lower():
            return False  # reorged out; the node re-includes or forgets it, the next pass sees which
        kind = request["kind"]
        status = "confirmed" if int(receipt["status"], 16) == 1 else "failed"
        error = None if status == "confirmed" else await self._revert_reason(request, block)
        mined_hash = receipt["transactionHash"].lower()
        await conn.execute(self.q.mark_final, request["id"], status, block, error, mined_hash)
        FINISHED.labels(kind, status).inc()
        if status == "confirmed" and request["first_submitted_at"] is not None:
            LATENCY.labels(kind).observe((datetime.now(UTC) - request["first_submitted_at"]).total_seconds())
        else:
            FAILURES.labels(kind, "reverted").inc()
        log.info("request %d (%s) %s in block %d (tx %s)", request["id"], kind, status, block, mined_hash)
        return True

    async def _unmined(
        self, conn: asyncpg.Connection, request: asyncpg.Record, hashes: list[str], head: int
    ) -> str | None:
        """A submitted request with no receipt: rebroadcast, re-sign, or replace; returns a raw tx to send."""
        kind, tx_hash = request["kind"], request["tx_hash"]
        if await self.rpc.call("eth_getTransactionByHash", [tx_hash]) is None:
            log.info("request %d: tx %s unknown to the node; re-broadcasting", request["id"], tx_hash)
            refusal = await self._broadcast(request["raw_tx"], kind)
            RESUBMISSIONS.labels(kind, "rebroadcast").inc()
            if refusal is None:
                return None
            if await self._nonce_taken(request, hashes):
                await self._resign(conn, request, refusal)
                return None
            # Refused for another reason (e.g. its max fee is below the base fee now): replace it once stuck.
        elapsed = (datetime.now(UTC) - (request["submitted_at"] or request["updated_at"])).total_seconds()
        sent_block = request["submitted_block"] if request["submitted_block"] is not None else head
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
        """The request's nonce was mined by a transaction that is none of its own."""
        mined = int(await self.rpc.call("eth_getTransactionCount", [self.address, "latest"]), 16)
        return mined > request["nonce"] and await self._best_receipt(hashes) is None

    async def _resign(self, conn: asyncpg.Connection, request: asyncpg.Record, refusal: str) -> None:
        if request["attempts"] >= self.max_attempts:
            await self._dead(conn, request, f"dropped {request['attempts']} times; last refusal: {refusal}", "dropped")
            return
        log.warning("request %d: nonce %d was taken (%s); re-signing", request["id"], request["nonce"], refusal)
        await conn.execute(self.q.requeue, request["id"], f"dropped; nonce {request['nonce']} taken: {refusal}")
        RESUBMISSIONS.labels(request["kind"], "resigned").inc()

    async def _replace(self, conn: asyncpg.Connection, request: asyncpg.Record, head: int) -> str | None:
        if request["max_fee_per_gas"] is None or request["gas_limit"] is None:
            return None  # signed before migration 0004 recorded fees: it can only be rebroadcast
        previous = Fees(int(request["max_fee_per_gas"]), int(request["max_priority_fee_per_gas"]))
        market = fees_from_history(await self.rpc.call("eth_feeHistory", [5, "latest", [50]]))
        fees = bump_fees(previous, market, self.max_fee)
        if fees is None:
            log.warning("request %d: stuck at the fee cap (%d wei); waiting", request["id"], previous.max_fee_per_gas)
            return None
        call = build_call(self.manifest, request["kind"], request["payload"])
        signed = self.account.sign_transaction(
            self._unsigned(request["nonce"], call.to, call.data, int(request["gas_limit"]), fees)
        )
        raw, tx_hash = "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()
        await conn.execute(
            self.q.mark_replaced, request["id"], tx_hash, raw, head, fees.max_fee_per_gas, fees.max_priority_fee_per_gas
        )
        REPLACEMENTS.labels(request["kind"]).inc()
        log.warning(
            "request %d: tx %s stuck; replaced by %s (nonce %d, max fee %d -> %d wei)",
            request["id"],
            request["tx_hash"],
            tx_hash,
            request["nonce"],
            previous.max_fee_per_gas,
            fees.max_fee_per_gas,
        )
        return raw

    async def _revert_reason(self, request: asyncpg.Record, block: int) -> str:
        call = build_call(self.manifest, request["kind"], request["payload"])
        try:
            await self.rpc.call("eth_call", [{"from": self.address, "to": call.to, "data": call.data}, hex(block - 1)])
        except NonRetryableRpcError as exc:
            return decode_revert(_revert_data(exc))
        return "reverted on chain"

    async def refresh_metrics(self) -> None:
        depth = await self.store.queue_depth()
        for kind in KINDS:
            for status in STATUSES:
                QUEUE.labels(kind, status).set(depth.get((kind, status), 0))

    async def tick(self) -> bool:
        """One pass: send what is ready, then confirm what is in flight. True if anything moved."""
        sent = 0
        while await self.submit_one():
            sent += 1
        finished = await self.check_submitted()
        await self.refresh_metrics()
        return bool(sent or finished)

    async def run(self, stop: asyncio.Event, poll_interval: float) -> None:
        await self.prepare()
        log.info("relaying as %s on chain %d", self.account.address, self.chain_id)
        while not stop.is_set():
            try:
                moved = await self.tick()
            except RetryableError as exc:
                log.warning("retryable failure: %s", exc)
                moved = False
            if not moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_interval)
