"""The sending loop: claim a request, pre-flight it, sign it with a persisted nonce, send, confirm.

Crash safety: the signed raw transaction, its hash and nonce are committed *before* the
broadcast. After a crash the request is ``submitted`` with a raw transaction the node may
never have seen; the confirmation pass re-broadcasts it, so the same nonce is never given
to a different transaction and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from eth_account.signers.local import LocalAccount
from prometheus_client import Counter, Gauge

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import InvalidInput, NonRetryableRpcError, RetryableError
from relayer.calls import build_call
from relayer.policy import backoff_seconds, decode_revert, fees_from_history, next_nonce
from relayer.store import Store

log = logging.getLogger("relayer")

SUBMITTED = Counter("relayer_submitted_total", "Transactions broadcast", ["kind"])
FINISHED = Counter("relayer_finished_total", "Requests that reached a final status", ["kind", "status"])
QUEUE = Gauge("relayer_requests", "Requests by status", ["status"])
NONCE = Gauge("relayer_next_nonce", "Next nonce of the signer")


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

    async def prepare(self) -> None:
        if await self.rpc.chain_id() != self.chain_id:
            raise RuntimeError("the RPC node's chain id differs from the deployment manifest's")
        genesis = await self.rpc.get_block(0)
        assert genesis is not None
        if await self.store.prepare(self.chain_id, genesis["hash"].lower()):
            log.warning("the chain was reset since the last run: nonces forgotten, in-flight requests requeued")

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
                await conn.execute(self.q.mark_final, request["id"], "failed", None, f"pre-flight: {reason}")
                FINISHED.labels(kind, "failed").inc()
                return None
            history = await self.rpc.call("eth_feeHistory", [5, "latest", [50]])
            fees = fees_from_history(history)
            persisted = await conn.fetchval(self.q.lock_nonce, self.chain_id, self.address)
            pending = int(await self.rpc.call("eth_getTransactionCount", [self.address, "pending"]), 16)
            nonce = next_nonce(persisted, pending)
            unsigned: dict[str, Any] = {
                "chainId": self.chain_id,
                "nonce": nonce,
                "to": call.to,
                "data": call.data,
                "value": 0,
                "gas": gas * 12 // 10,
                "maxFeePerGas": fees.max_fee_per_gas,
                "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                "type": 2,
            }
            signed = self.account.sign_transaction(unsigned)
            raw = "0x" + signed.raw_transaction.hex()
            tx_hash = "0x" + signed.hash.hex()
            await conn.execute(self.q.mark_submitted, request["id"], self.address, nonce, tx_hash, raw)
            await conn.execute(self.q.set_nonce, self.chain_id, self.address, nonce + 1)
            NONCE.set(nonce + 1)
            log.info("request %d (%s) signed: nonce %d, tx %s", request["id"], kind, nonce, tx_hash)
            return raw
        except InvalidInput as exc:
            await conn.execute(self.q.mark_final, request["id"], "dead", None, str(exc))
            FINISHED.labels(kind, "dead").inc()
            return None
        except RetryableError as exc:
            attempts = request["attempts"] + 1
            if attempts >= self.max_attempts:
                await conn.execute(self.q.mark_final, request["id"], "dead", None, f"gave up: {exc}")
                FINISHED.labels(kind, "dead").inc()
            else:
                await conn.execute(self.q.mark_retry, request["id"], str(exc), backoff_seconds(attempts))
            return None

    async def _broadcast(self, raw: str, kind: str) -> None:
        try:
            await self.rpc.call("eth_sendRawTransaction", [raw])
            SUBMITTED.labels(kind).inc()
        except NonRetryableRpcError as exc:
            # "already known"/"nonce too low" after a resend: the confirmation pass sorts it out.
            log.warning("broadcast answered: %s", exc.message)
        except RetryableError as exc:
            log.warning("broadcast failed (%s); the confirmation pass will resend", exc)

    async def check_submitted(self, limit: int = 50) -> int:
        """Confirm, fail, or re-broadcast submitted requests; returns how many reached a final status."""
        finished = 0
        head = await self.rpc.block_number()
        async with self.store.pool.acquire() as conn, conn.transaction():
            for request in await conn.fetch(self.q.claim_submitted, limit):
                receipt = await self.rpc.call("eth_getTransactionReceipt", [request["tx_hash"]])
                if receipt is None:
                    known = await self.rpc.call("eth_getTransactionByHash", [request["tx_hash"]])
                    if known is None:
                        log.info(
                            "request %d: tx %s unknown to the node; re-broadcasting", request["id"], request["tx_hash"]
                        )
                        await self._broadcast(request["raw_tx"], request["kind"])
                    continue
                block = int(receipt["blockNumber"], 16)
                if head - block + 1 < self.confirmations:
                    continue
                canonical = await self.rpc.get_block(block)
                if canonical is None or canonical["hash"].lower() != receipt["blockHash"].lower():
                    continue  # reorged out; the node re-includes or forgets it, the next pass sees which
                status = "confirmed" if int(receipt["status"], 16) == 1 else "failed"
                error = None if status == "confirmed" else await self._revert_reason(request, block)
                await conn.execute(self.q.mark_final, request["id"], status, block, error)
                FINISHED.labels(request["kind"], status).inc()
                log.info("request %d (%s) %s in block %d", request["id"], request["kind"], status, block)
                finished += 1
        return finished

    async def _revert_reason(self, request: asyncpg.Record, block: int) -> str:
        call = build_call(self.manifest, request["kind"], request["payload"])
        try:
            await self.rpc.call("eth_call", [{"from": self.address, "to": call.to, "data": call.data}, hex(block - 1)])
        except NonRetryableRpcError as exc:
            return decode_revert(_revert_data(exc))
        return "reverted on chain"

    async def refresh_metrics(self) -> None:
        counts = await self.store.status_counts()
        for status in ("pending", "submitted", "confirmed", "failed", "dead", "cancelled"):
            QUEUE.labels(status).set(counts.get(status, 0))

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
