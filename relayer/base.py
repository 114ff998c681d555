"""What the sending and the confirming halves of the relayer share: configuration, signing, broadcast."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from eth_account.signers.local import LocalAccount

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import NonRetryableRpcError, RetryableError, RpcError
from relayer.calls import Call, build_call
from relayer.metrics import FAILURES, FINISHED, SUBMITTED
from relayer.policy import GWEI, Fees
from relayer.signing import TxSigner
from relayer.store import RelayerStore

log = logging.getLogger("relayer")

FEE_HISTORY = ("eth_feeHistory", [5, "latest", [50]])


# Called at named points of a pass ("after_send": a batch broadcast; "after_mined": receipts read, outcomes
# not recorded). Production passes none; the crash tests inject one that exits there (tests/e2e/crashing_relayer.py).
CrashHook = Callable[[str], None]


def no_crash(point: str) -> None:
    """The default crash hook: nothing happens at any point."""


@dataclass(frozen=True)
class Key:
    """One signer of the pool: its account, its fast signer and its lower-case address (the DB's spelling)."""

    account: LocalAccount
    signer: TxSigner
    address: str

    @classmethod
    def of(cls, account: LocalAccount) -> Key:
        return cls(account, TxSigner(bytes(account.key)), account.address.lower())

    def sign(self, unsigned: dict[str, Any]) -> tuple[str, str]:
        """The raw transaction and its hash, both 0x-hex."""
        return self.signer.sign(unsigned)


def revert_data(exc: NonRetryableRpcError) -> str | None:
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) else None


class RelayerBase:
    def __init__(
        self,
        manifest: Manifest,
        store: RelayerStore,
        rpc: RpcClient,
        account: LocalAccount,
        *,
        pool: Sequence[LocalAccount] = (),
        max_pending_per_key: int = 1000,
        confirmations: int = 1,
        max_attempts: int = 5,
        stuck_blocks: int = 3,
        stuck_seconds: float = 60.0,
        max_fee_gwei: float = 500.0,
        send_batch: int = 50,
        confirm_batch: int = 500,
        crash_hook: CrashHook = no_crash,
        finality_blocks: int = 64,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.q = store.q
        self.rpc = rpc
        self.account = account  # the default key; README "Relayer": the signer pool
        self.key = Key.of(account)
        self.address = self.key.address
        self.keys: dict[str, Key] = {self.address: self.key}
        for other in pool:
            self.keys.setdefault(other.address.lower(), Key.of(other))
        self.max_pending_per_key = max_pending_per_key
        self.chain_id = manifest.chain_id
        self.confirmations = confirmations
        self.max_attempts = max_attempts
        self.stuck_blocks = stuck_blocks
        self.stuck_seconds = stuck_seconds
        self.max_fee = int(max_fee_gwei * GWEI)
        self.send_batch = send_batch
        self.confirm_batch = confirm_batch
        self.crash_hook = crash_hook
        self.finality_blocks = max(finality_blocks, confirmations)
        self._sending: asyncio.Task[None] | None = None
        self._last_head: int | None = None
        self._last_pass = 0.0
        self._last_metrics = 0.0
        self._sweep_after = 0  # the confirmation sweep's cursor (``claim_submitted``)
        self._holes: dict[str, tuple[int, float]] = {}  # stuck keys (relayer/lanes.py): since (block, time)

    def crash_point(self, name: str) -> None:
        """A named point for the injected crash hook (a test's may die here as a SIGKILL would)."""
        self.crash_hook(name)

    def _capped(self, fees: Fees) -> Fees:
        max_fee = min(fees.max_fee_per_gas, self.max_fee)
        return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=min(fees.max_priority_fee_per_gas, max_fee))

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

    @staticmethod
    def signer_of(request: asyncpg.Record) -> str:
        """The address a sent request is bound to (its nonce lane)."""
        return str(request["signer"]).lower()

    def key_of(self, request: asyncpg.Record) -> Key | None:
        """The pool's key that sent the request (None: a key no longer configured; its txs can only be resent)."""
        return self.keys.get(self.signer_of(request))

    def _call_for(self, request: asyncpg.Record) -> Call:
        """What the request's transactions call: its own call, or a zero-value self-transfer once cancelled."""
        if request["cancel_tx_hash"] is not None:
            return Call(to=self.signer_of(request), data="0x")
        return build_call(self.manifest, request["kind"], request["payload"])

    async def _dead(self, conn: asyncpg.Connection, request: asyncpg.Record, reason: str, stage: str) -> None:
        await conn.execute(self.q.mark_final, request["id"], "dead", None, reason, None)
        FINISHED.labels(request["kind"], "dead").inc()
        FAILURES.labels(request["kind"], stage).inc()
        log.error("request %d (%s) is dead: %s", request["id"], request["kind"], reason)

    async def _broadcast(self, raw: str, kind: str) -> str | None:
        """Send a raw tx; returns the node's refusal, if any (retryable failures are left to the next pass)."""
        return (await self._broadcast_many([(raw, kind)]))[0]

    async def _broadcast_many(self, txs: list[tuple[str, str]]) -> list[str | None]:
        """Send raw txs in one JSON-RPC batch, in order; each one's refusal or None."""
        if not txs:
            return []
        try:
            results = await self.rpc.batch_settled([("eth_sendRawTransaction", [raw]) for raw, _ in txs])
        except (RetryableError, RpcError) as exc:  # transport, or the whole batch refused
            log.warning("broadcast of %d tx(s) failed (%s); the confirmation pass will resend", len(txs), exc)
            return [None] * len(txs)
        refusals: list[str | None] = []
        for (_, kind), result in zip(txs, results, strict=True):
            if isinstance(result, RpcError):
                # "already known"/"nonce too low" after a resend: the confirmation pass sorts it out.
                log.warning("broadcast answered: %s", result.message)
                refusals.append(result.message if isinstance(result, NonRetryableRpcError) else None)
            else:
                SUBMITTED.labels(kind).inc()
                refusals.append(None)
        return refusals
