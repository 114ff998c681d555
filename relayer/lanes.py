"""A key of the pool whose next nonce no transaction of ours holds, while ours wait above it.

It happens when something else took the key's next nonce and never got mined (a transaction sent from the
key by another tool, underpriced, or dropped from the node's pool): the relayer's own transactions queue
behind it and the key is stuck. Routing already sends new requests to the other keys (the stuck one keeps
its load until its cap); after ``stuck_blocks`` blocks or ``stuck_seconds`` this closes the hole as nonce
reconciliation does on start: a zero-value self-transaction at each nonce below our lowest in flight, at
market fees (it replaces an underpriced holder; a holder paying more is left to be mined).
"""

from __future__ import annotations

import logging
import time

from relayer.base import FEE_HISTORY, RelayerBase
from relayer.metrics import NONCE_GAPS
from relayer.policy import fees_from_history, is_stuck

log = logging.getLogger("relayer")


class LaneHealer(RelayerBase):
    async def heal_lanes(self, head: int) -> int:
        """Fill the holes under the keys stuck that way for long enough; returns how many fillers were sent."""
        rows = await self.store.pool.fetch(self.q.lowest_inflight, list(self.keys))
        if not rows:
            self._holes.clear()
            return 0
        lowest = {r["signer"]: r["nonce"] for r in rows}
        signers = sorted(lowest)
        answers = await self.rpc.batch([("eth_getTransactionCount", [s, "latest"]) for s in signers])
        mined = {s: int(n, 16) for s, n in zip(signers, answers, strict=True)}
        for signer in list(self._holes):
            if signer not in lowest or mined[signer] >= lowest[signer]:
                del self._holes[signer]  # no hole (any more)
        sent = 0
        for signer in signers:
            if mined[signer] >= lowest[signer]:
                continue
            seen_block, seen_at = self._holes.setdefault(signer, (head, time.monotonic()))
            if is_stuck(
                head=head,
                sent_block=seen_block,
                elapsed=time.monotonic() - seen_at,
                stuck_blocks=self.stuck_blocks,
                stuck_seconds=self.stuck_seconds,
            ):
                sent += await self._fill(signer)
                self._holes[signer] = (head, time.monotonic())  # not again before another stuck interval
        return sent

    async def _fill(self, signer: str) -> int:
        key = self.keys[signer]
        fillers: list[tuple[str, str]] = []
        async with self.store.pool.acquire() as conn, conn.transaction():
            await conn.fetchval(self.q.lock_nonce, self.chain_id, signer)  # no batch is signed on it meanwhile
            low = await conn.fetchval(self.q.lowest_inflight_of, signer)
            mined = int(await self.rpc.call("eth_getTransactionCount", [signer, "latest"]), 16)
            if low is None or mined >= low:
                return 0
            holes = list(range(mined, low))
            log.warning(
                "key %s is stuck: nonce(s) %s, below its lowest in flight (%d), are held by no request; filling",
                signer,
                holes,
                low,
            )
            fees = self._capped(fees_from_history(await self.rpc.call(*FEE_HISTORY)))
            for nonce in holes:
                raw, _ = key.sign(self._unsigned(nonce, signer, "0x", 21000, fees))
                fillers.append((raw, "filler"))
        NONCE_GAPS.inc(len(fillers))
        await self._broadcast_many(fillers)
        return len(fillers)
