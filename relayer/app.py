"""The relayer: claim → pre-flight → sign → persist → send (``send.py``), then confirm (``confirm.py``).

On start it checks the chain, forgets what a reset dev chain made obsolete and closes nonce gaps;
then each pass sends every ready request (pipelined batches) and confirms what is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from core.backoff import Backoff, mark
from core.chain.genesis import check_genesis
from core.db.outage import DatabaseUnavailable, database_errors
from core.errors import RetryableError
from relayer import proof
from relayer.base import FEE_HISTORY, Key
from relayer.confirm import Confirmer
from relayer.lanes import LaneHealer
from relayer.metrics import KINDS, NONCE, NONCE_GAPS, QUEUE, STATUSES
from relayer.policy import fees_from_history, reconciled_nonce
from relayer.send import Sender

log = logging.getLogger("relayer")

FULL_PASS_SECONDS = 1.0


class Relayer(Sender, Confirmer, LaneHealer):
    async def prepare(self) -> None:
        genesis = await check_genesis(self.rpc, self.chain_id, self.manifest.genesis_hash)
        if await self.store.prepare(self.chain_id, genesis):
            log.warning(
                "the dev chain was reset since the last run: requests finished on the old chain are kept as its"
                " history; in-flight ones are signed afresh on the new chain with its nonces"
            )
        # Before nonce reconciliation: a finished tx a reorg dropped while we were down holds its nonce again.
        await self.recheck_unfinal(await self.rpc.block_number())
        await self.reconcile_nonce()

    async def reconcile_nonce(self) -> None:
        """Close the nonce gaps of every key of the pool (each is its own lane); warn about requests in flight
        from a key no longer configured (they are confirmed or resent as signed, never replaced)."""
        for key in self.keys.values():
            await self.reconcile_key(key)
        orphans = await self.store.pool.fetch(self.q.inflight_elsewhere, list(self.keys))
        for row in orphans:
            log.warning(
                "%d request(s) in flight from %s, which is not in the signer pool: they can be confirmed or"
                " resent, not replaced or cancelled; add the key back to finish them",
                row["n"],
                row["signer"],
            )

    async def reconcile_key(self, key: Key) -> None:
        """Close one key's nonce gaps: a persisted next nonce above the chain's that no in-flight tx holds is
        freed, holes below an in-flight tx are filled with zero-value self-transactions. Only a node at or above
        the highest block that mined one of ours can prove a nonce unused: behind one, nothing is changed."""
        fillers: list[tuple[str, str]] = []
        address = key.address
        async with self.store.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q.ensure_nonce_row, self.chain_id, address)
            persisted = await conn.fetchval(self.q.lock_nonce, self.chain_id, address)
            height = await conn.fetchval(self.q.last_mined_block, address)
            pending = await proof.pending_nonce_at(self.rpc, address, height)
            if pending is None:
                log.warning("no node at or above block %d answered: nonce reconciliation waits for one", height)
                return
            if persisted <= pending:
                return
            inflight = [r["nonce"] for r in await conn.fetch(self.q.inflight_nonces, address)]
            reconciled, holes = reconciled_nonce(persisted, pending, inflight)
            if reconciled == persisted and not holes:
                return
            log.warning(
                "nonce gap on %s: persisted next %d, chain pending %d, in flight %s; next becomes %d, filling %s",
                address,
                persisted,
                pending,
                inflight,
                reconciled,
                holes,
            )
            NONCE_GAPS.inc(len(holes) + (reconciled != persisted))
            if holes:
                fees = self._capped(fees_from_history(await self.rpc.call(*FEE_HISTORY)))
                for nonce in holes:
                    raw, _ = key.sign(self._unsigned(nonce, address, "0x", 21000, fees))
                    fillers.append((raw, "filler"))
            await conn.execute(self.q.set_nonce, self.chain_id, address, reconciled)
            NONCE.labels(address).set(reconciled)
        await self._broadcast_many(fillers)

    async def refresh_metrics(self) -> None:
        """Queue depth gauges (a GROUP BY over the queue: ``tick`` calls it at most once a second)."""
        self._last_metrics = time.monotonic()
        depth = await self.store.queue_depth()
        for kind in KINDS:
            for status in STATUSES:
                QUEUE.labels(kind, status).set(depth.get((kind, status), 0))

    async def tick(self) -> bool:
        """One pass: send what is ready, then confirm what is in flight. True if anything moved.

        The confirmation pass is skipped while the head has not moved (nothing new can be mined), except
        once a second (dropped or stuck-by-time transactions on a chain that produces no blocks).
        """
        sent = await self.submit_pipelined(self.confirm_batch)  # then confirm, even while producers keep up
        head = await self.rpc.block_number()
        if head == self._last_head and time.monotonic() - self._last_pass < FULL_PASS_SECONDS:
            return bool(sent)
        self._last_head, self._last_pass = head, time.monotonic()
        finished = 0
        while True:  # one sweep over everything in flight, page by page (a stuck key's pages cannot stall it)
            finished += await self.check_submitted()
            if self._sweep_after == 0:
                break
        reopened = await self.recheck_unfinal(head)
        filled = await self.heal_lanes(head)
        if time.monotonic() - self._last_metrics >= FULL_PASS_SECONDS:
            await self.refresh_metrics()
        return bool(sent or finished or reopened or filled)

    async def run(self, stop: asyncio.Event, poll_interval: float) -> None:
        """Relay until ``stop``; an outage (Postgres, RPC) backs off and carries on, never exits.

        After a lost database connection ``prepare`` runs again, as on a fresh start (a commit may have
        been lost with the connection: nonces are reconciled against the chain and what is in flight).
        """
        backoff = Backoff()
        prepared = False
        while not stop.is_set():
            try:
                async with database_errors():
                    if not prepared:
                        await self.prepare()
                        prepared = True
                        log.info(
                            "relaying as %s on chain %d (signer pool: %d key(s), at most %d pending each)",
                            self.account.address,
                            self.chain_id,
                            len(self.keys),
                            self.max_pending_per_key,
                        )
                    moved = await self.tick()
                backoff.reset()
                mark("database", True)
            except RetryableError as exc:
                log.warning("retryable failure: %s", exc)
                await self._abandon_sending()
                if isinstance(exc, DatabaseUnavailable):
                    mark("database", False)
                    prepared = False
                await backoff.wait(stop)
                continue
            if not moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_interval)

    async def _abandon_sending(self) -> None:
        """After a failed pass: wait out a broadcast still in flight (its txs are persisted already)."""
        task, self._sending = self._sending, None
        if task is not None:
            with contextlib.suppress(Exception):
                await task
