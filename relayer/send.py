"""The sending half: claim pending requests, pre-flight, sign with persisted nonces, persist, broadcast.

Crash safety: the signed raw transactions, their hashes and nonces are committed *before* the
broadcast. After a crash a request is ``submitted`` with a raw transaction the node may never
have seen; the confirmation pass re-broadcasts it, so the same nonce is never given to a
different transaction and nothing is sent twice.

Throughput: a claim takes up to ``send_batch`` requests; their pre-flight (``eth_estimateGas``,
which executes the call and answers a revert with its reason), the fee history, head and
pending nonce go in one JSON-RPC batch, the rows are written with one ``executemany`` and the
signed transactions sent in one batch, in nonce order, while the next claim is prepared.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from core.errors import InvalidInput, NonRetryableRpcError, RetryableError, RpcError
from relayer.base import FEE_HISTORY, Key, RelayerBase, revert_data
from relayer.calls import Call, build_call
from relayer.metrics import FAILURES, FINISHED, INFLIGHT, NONCE
from relayer.policy import backoff_seconds, decode_revert, fees_from_history, next_nonce, route

log = logging.getLogger("relayer")


@dataclass(frozen=True)
class _Ready:
    request: asyncpg.Record
    call: Call
    gas: int


class Sender(RelayerBase):
    async def submit_one(self) -> bool:
        """Claim, pre-flight, sign, persist and broadcast one pending request. False when none is ready."""
        return await self.submit_batch(1) > 0

    async def submit_batch(self, limit: int | None = None) -> int:
        """Claim up to ``limit`` pending requests and send them; returns how many were claimed."""
        claimed, raws = await self._claim_and_sign(limit or self.send_batch)
        await self._send_in_order(raws)
        return claimed

    async def submit_pipelined(self, limit: int) -> int:
        """Send batches until the queue is empty or ``limit`` were claimed, preparing each batch while the
        previous one is broadcast."""
        total = 0
        while total < limit:
            claimed, raws = await self._claim_and_sign(self.send_batch)
            if not claimed:
                break
            total += claimed
            previous = self._sending
            self._sending = asyncio.create_task(self._after(previous, raws))
        if self._sending is not None:
            await self._sending
            self._sending = None
        return total

    async def _after(self, previous: asyncio.Task[None] | None, raws: list[tuple[str, str]]) -> None:
        if previous is not None:
            await previous  # nonces reach the node in order
        await self._send_in_order(raws)

    async def _send_in_order(self, raws: list[tuple[str, str]]) -> None:
        if raws:
            await self._broadcast_many(raws)
            self.crash_point("after_send")

    async def _claim_and_sign(self, limit: int) -> tuple[int, list[tuple[str, str]]]:
        """Claim pending requests, bind them to a free key of the pool with room, sign and persist them.

        Returns how many were handled (sent, failed or put off) and the raw txs to broadcast; (0, []) when
        nothing is pending or every key is at its cap or held by another relayer process.
        """
        async with self.store.pool.acquire() as conn, conn.transaction():
            requests = await conn.fetch(self.q.claim_pending, limit)
            if not requests:
                return 0, []
            lane = await self._lane(conn)
            if lane is None:
                return 0, []  # the claimed rows are left as they were when the transaction ends
            key, persisted, room = lane
            requests = requests[:room]
            return len(requests), await self._prepare_batch(conn, requests, key, persisted)

    async def _lane(self, conn: asyncpg.Connection) -> tuple[Key, int, int] | None:
        """Inside the claim transaction: the least-loaded key with room that no other process is sending on,
        its nonce row locked: (key, persisted next nonce, room under its cap)."""
        addresses = list(self.keys)
        if len(addresses) > 1:
            loads = {r["signer"]: r["n"] for r in await conn.fetch(self.q.inflight_by_signer, addresses)}
            addresses = route(addresses, loads, self.max_pending_per_key)
        await conn.execute(self.q.ensure_nonce_rows, self.chain_id, addresses)
        for address in addresses:
            row = await conn.fetchrow(self.q.try_lock_nonce, self.chain_id, address)
            if row is None:
                continue  # another relayer process holds this lane: it sends on it, we take the next key
            inflight = await conn.fetchval(self.q.inflight_count, address)  # exact now: we hold the lane
            INFLIGHT.labels(address).set(inflight)
            room = self.max_pending_per_key - inflight
            if room > 0:
                return self.keys[address], row["next_nonce"], room
        return None

    async def _prepare_tx(self, conn: asyncpg.Connection, request: asyncpg.Record) -> str | None:
        """Inside a claim transaction: the raw tx persisted as submitted (default key), or None if settled
        otherwise."""
        await conn.execute(self.q.ensure_nonce_row, self.chain_id, self.address)
        persisted = await conn.fetchval(self.q.lock_nonce, self.chain_id, self.address)
        raws = await self._prepare_batch(conn, [request], self.key, persisted)
        return raws[0][0] if raws else None

    async def _prepare_batch(
        self, conn: asyncpg.Connection, requests: list[asyncpg.Record], key: Key, persisted: int | None
    ) -> list[tuple[str, str]]:
        """Inside the claim transaction, ``key``'s nonce row locked (its persisted next nonce: ``persisted``):
        pre-flight, sign and persist, binding each request to ``key``; returns (raw tx, kind) in nonce order."""
        calls: dict[int, Call] = {}
        for request in requests:
            if request["request_id"]:  # README "Logs": the API request that caused it
                log.info(
                    "handling request %d (%s)",
                    request["id"],
                    request["kind"],
                    extra={"request_id": request["request_id"]},
                )
            try:
                calls[request["id"]] = build_call(self.manifest, request["kind"], request["payload"])
            except InvalidInput as exc:
                await self._dead(conn, request, str(exc), "invalid")
        valid = [r for r in requests if r["id"] in calls]
        if not valid:
            return []
        rpc_calls: list[tuple[str, list[Any]]] = [
            FEE_HISTORY,
            ("eth_blockNumber", []),
            ("eth_getTransactionCount", [key.address, "pending"]),
        ]
        txs = [{"from": key.address, "to": calls[r["id"]].to, "data": calls[r["id"]].data} for r in valid]
        # eth_estimateGas executes the call: a revert answers with the same reason and data as eth_call. Against
        # "latest" (anvil re-executes its whole pool for "pending": ~9 ms a call with 500 txs waiting); what would
        # revert there is asked again against "pending", where the transactions before it may make it succeed.
        rpc_calls += [("eth_estimateGas", [tx, "latest"]) for tx in txs]
        try:
            results = await self.rpc.batch_settled(rpc_calls)
            for result in results[:3]:
                if isinstance(result, RpcError):
                    raise result
            estimates = results[3:]
            again = [i for i, gas in enumerate(estimates) if isinstance(gas, NonRetryableRpcError)]
            pending_estimates = await self.rpc.batch_settled([("eth_estimateGas", [txs[i], "pending"]) for i in again])
            for i, gas in zip(again, pending_estimates, strict=True):
                estimates[i] = gas
        except RetryableError as exc:
            for request in valid:
                await self._retry_later(conn, request, exc)
            return []
        history, head, pending = results[0], int(results[1], 16), int(results[2], 16)
        ready: list[_Ready] = []
        for request, gas in zip(valid, estimates, strict=True):
            if isinstance(gas, NonRetryableRpcError):
                await self._preflight_failed(conn, request, gas)
            elif isinstance(gas, RpcError):
                await self._retry_later(conn, request, gas)
            else:
                ready.append(_Ready(request, calls[request["id"]], int(gas, 16)))
        if not ready:
            return []
        fees = self._capped(fees_from_history(history))
        nonce = next_nonce(persisted, pending)
        rows, raws = [], []
        for offset, item in enumerate(ready):
            unsigned = self._unsigned(nonce + offset, item.call.to, item.call.data, item.gas * 12 // 10, fees)
            raw, tx_hash = key.sign(unsigned)
            rows.append(
                (
                    item.request["id"],
                    key.address,
                    nonce + offset,
                    tx_hash,
                    raw,
                    head,
                    unsigned["gas"],
                    fees.max_fee_per_gas,
                    fees.max_priority_fee_per_gas,
                )
            )
            raws.append((raw, item.request["kind"]))
        await conn.executemany(self.q.mark_submitted, rows)
        await conn.execute(self.q.set_nonce, self.chain_id, key.address, nonce + len(ready))
        NONCE.labels(key.address).set(nonce + len(ready))
        log.info(
            "signed %d request(s) %s with %s: nonces %d..%d",
            len(ready),
            [r[0] for r in rows],
            key.address,
            nonce,
            nonce + len(ready) - 1,
        )
        return raws

    async def _preflight_failed(
        self, conn: asyncpg.Connection, request: asyncpg.Record, exc: NonRetryableRpcError
    ) -> None:
        data = revert_data(exc)
        reason = decode_revert(data) if data else exc.message
        log.warning("request %d (%s) would revert: %s; not sent", request["id"], request["kind"], reason)
        await conn.execute(self.q.mark_final, request["id"], "failed", None, f"pre-flight: {reason}", None)
        FINISHED.labels(request["kind"], "failed").inc()
        FAILURES.labels(request["kind"], "preflight").inc()

    async def _retry_later(self, conn: asyncpg.Connection, request: asyncpg.Record, exc: Exception) -> None:
        attempts = request["attempts"] + 1
        if attempts >= self.max_attempts:
            await self._dead(conn, request, f"gave up after {attempts} attempts: {exc}", "retries")
        else:
            await conn.execute(self.q.mark_retry, request["id"], str(exc), backoff_seconds(attempts))
