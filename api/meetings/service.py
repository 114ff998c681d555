"""Meetings: materialized from indexed auctions, opened by a relayer burn of the winner's pass.

State is derived on every read (``meetings_by_ids`` in ``api/meetings/queries.sql``), never trusted
from the row alone:

- ``void``: the indexed auction no longer ended with this winner and pass (a reorg rolled it back);
- ``closed``: the seller closed it; ``expired``: past ``ends_at``;
- ``open``: the pass's ``PassRedeemed`` is indexed (the redeeming holder is admitted);
- ``redeeming``: a relayer burn request is in flight; ``scheduled``: waiting for the redemption.

Every decision on a meeting runs in one transaction holding the meeting's row lock, so two API
workers (or two requests) cannot queue two burns or race a close; access decisions are logged
in that same transaction.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import asyncpg

from api.domain_errors import Forbidden
from api.meetings.jitsi import room_token
from api.meetings.notifications import Notice, Notifications
from api.meetings.redemption import Domain, load_domain, recover_holder
from api.meetings.views import IN_FLIGHT, Caller, Result, meeting_dict, participants, status_of
from api.settings import ApiSettings
from core.chain.rpc import RpcClient
from core.db import Queries, translate_errors
from core.errors import AppError, ConfigError, Conflict, InvalidInput, NotFound
from core.queue import TxRequest, burn_pass_key, enqueue

QUERIES = Queries(Path(__file__).with_name("queries.sql"))


class Meetings:
    def __init__(
        self,
        pool: asyncpg.Pool,
        notifications: Notifications,
        settings: ApiSettings,
        *,
        chain_id: int,
        rpc: RpcClient,
        pass_address: str,
    ) -> None:
        self.pool = pool
        self.notifications = notifications
        self.settings = settings
        self.chain_id = chain_id
        self.rpc = rpc
        self.pass_address = pass_address
        self.q = QUERIES
        self._domain: Domain | None = None
        self._synced = -1  # the producer's watermark: auctions updated above it are (re)considered

    # ------------------------------------------------------------------ materialization
    async def materialize(self, wallets: list[str] | None = None, since_block: int = -1) -> int:
        """Create (or re-bind after a reorg) the meetings of ended auctions; notify; returns how many."""
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(self.q.materialize_meetings, self.chain_id, wallets, since_block,
                                    float(self.settings.meeting_duration))  # fmt: skip
            wanted = []
            for r in rows:
                data = {"auction_id": r["auction_id"], "pass_id": r["pass_id"]}
                for recipient, kind, role in ((r["winner"], "auction_won", "winner"),
                                              (r["winner"], "meeting_ready", "winner"),
                                              (r["seller"], "meeting_ready", "seller")):  # fmt: skip
                    key = f"{kind}:{role}:{r['id']}:{r['room']}"
                    wanted.append(Notice(recipient, kind, r["id"], key, {**data, "role": role}))
            notices = await self.notifications.add(conn, wanted)
        await self.notifications.push(notices)
        return len(rows)

    async def on_indexed(self, indexed: dict[str, Any] | None, reorgs: list[tuple[int, str]]) -> None:
        """The feed producer's hook (lease holder only): materialize what the new blocks ended."""
        if indexed is None or (indexed["number"] == self._synced and not reorgs):
            return
        since = min([self._synced, indexed["number"], *(block for block, _ in reorgs)])
        await self.materialize(None, since)
        self._synced = indexed["number"]

    def forget_watermark(self) -> None:
        """This process lost the lease: whatever it missed meanwhile is rescanned when it is back."""
        self._synced = -1

    # ------------------------------------------------------------------ reads
    async def _rows(self, conn: asyncpg.Connection, ids: list[int]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(self.q.meetings_by_ids, ids, self.chain_id)
        return rows

    async def mine(self, caller: Caller, before: int, limit: int) -> list[Result]:
        if not caller.wallets:
            return []
        await self.materialize(caller.wallets)
        async with translate_errors(), self.pool.acquire() as conn:
            ids = [r["id"] for r in await conn.fetch(self.q.meeting_ids_of, self.chain_id, caller.wallets, before,
                                                     limit)]  # fmt: skip
            rows = await self._rows(conn, ids)
        return [meeting_dict(r, caller.wallets) for r in rows]

    async def get(self, meeting_id: int, caller: Caller) -> Result:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await self._rows(conn, [meeting_id])
        if not rows or not participants(rows[0]) & set(caller.wallets):
            raise NotFound("no such meeting of yours", details={"meeting_id": meeting_id})
        return meeting_dict(rows[0], caller.wallets)

    async def by_auction(self, auction_id: int, caller: Caller) -> Result:
        if caller.wallets:
            await self.materialize(caller.wallets)
        async with translate_errors(), self.pool.acquire() as conn:
            meeting_id = await conn.fetchval(self.q.meeting_id_by_auction, self.chain_id, str(auction_id))
        if meeting_id is None:
            raise NotFound("no meeting of yours for this auction", details={"auction_id": str(auction_id)})
        return await self.get(int(meeting_id), caller)

    async def access_log(self, meeting_id: int, caller: Caller, limit: int) -> list[Result]:
        async with translate_errors(), self.pool.acquire() as conn:
            rows = await self._rows(conn, [meeting_id])
            if not rows or not participants(rows[0]) & set(caller.wallets):
                raise NotFound("no such meeting of yours", details={"meeting_id": meeting_id})
            if rows[0]["seller"] not in caller.wallets:
                raise Forbidden("only the seller reads the access log", details={"reason": "not_seller"})
            log = await conn.fetch(self.q.access_log_of, meeting_id, limit)
        return [{**dict(r), "at": r["at"].isoformat()} for r in log]

    # ------------------------------------------------------------------ decisions
    async def _decide(self, meeting_id: int, caller: Caller, decide: Any) -> Result:
        """Run ``decide(conn, row)`` under the meeting's row lock; it returns a result or the error to raise
        (after the commit, so that what it logged stays)."""
        notices: list[dict[str, Any]] = []
        async with translate_errors(), self.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(self.q.lock_meeting, meeting_id, self.chain_id) is None:
                raise NotFound("no such meeting", details={"meeting_id": meeting_id})
            row = (await self._rows(conn, [meeting_id]))[0]
            outcome = await decide(conn, row, notices)
        await self.notifications.push(notices)
        if isinstance(outcome, AppError):
            raise outcome
        result: Result = outcome
        return result

    async def _log(
        self, conn: asyncpg.Connection, row: asyncpg.Record, caller: Caller, *, wallet: str | None,
        action: str, outcome: str, reason: str,
    ) -> None:  # fmt: skip
        await conn.execute(self.q.log_access, row["id"], caller.user_id, wallet, action, outcome, reason)

    async def domain(self) -> Domain:
        if self._domain is None:
            if not self.pass_address:
                raise ConfigError("meetings are off: the deployment manifest has no MeetingPass")
            self._domain = await load_domain(self.rpc, self.pass_address, self.chain_id)
        return self._domain

    async def redeem(self, meeting_id: int, caller: Caller, holder: str, deadline: int, signature: str) -> Result:
        """Check a signed redemption and queue the relayer burn of the pass (202 pending)."""
        domain = await self.domain()
        holder, signature = holder.lower(), signature.lower()
        settings = self.settings

        async def decide(conn: asyncpg.Connection, row: asyncpg.Record, notices: list[Any]) -> Result | AppError:
            async def deny(error: AppError, reason: str) -> AppError:
                error.details.setdefault("reason", reason)
                await self._log(conn, row, caller, wallet=holder, action="redeem", outcome="denied", reason=reason)
                return error

            if holder not in caller.wallets:
                return await deny(Forbidden("link the holder's wallet to your account first"), "holder_not_linked")
            state = status_of(row)
            if state == "void":
                return await deny(Conflict("the auction no longer ends with this pass; the meeting is void"), "void")
            if row["redeemed_by"] is not None:
                return await deny(Conflict("this pass was already redeemed for this meeting"), "pass_redeemed")
            if state in ("closed", "expired"):
                return await deny(Conflict(f"the meeting is {state}"), state)
            now = int(time.time())
            if not now + settings.redemption_min_deadline <= deadline <= now + settings.redemption_max_deadline:
                error = InvalidInput(f"the deadline must be {settings.redemption_min_deadline}.."
                                     f"{settings.redemption_max_deadline} s from now")  # fmt: skip
                return await deny(error, "bad_deadline")
            if recover_holder(domain, int(row["pass_id"]), holder, deadline, signature) != holder:
                return await deny(Forbidden("the signature is not the holder's redemption of this pass"),
                                  "bad_signature")  # fmt: skip
            pending = {"status": "pending", "meeting_id": row["id"], "holder": holder}
            if row["burn_status"] in IN_FLIGHT:
                if (row["burn_holder"], row["burn_signature"]) == (holder, signature):
                    await self._log(
                        conn, row, caller, wallet=holder, action="redeem", outcome="pending", reason="burn_in_flight"
                    )
                    return {**pending, "request_id": row["burn_request_id"]}
                return await deny(Conflict("another redemption of this pass is in flight"), "burn_in_progress")
            if row["pass_owner"] != holder:
                return await deny(Forbidden("the indexed owner of the pass is another wallet"), "not_pass_holder")
            attempt = row["burn_attempt"] + 1
            key = burn_pass_key(self.chain_id, row["pass_id"], attempt)
            payload = {"token_id": row["pass_id"], "holder": holder, "deadline": str(deadline), "signature": signature}
            request_id = (await enqueue(conn, TxRequest("burn_pass", key, payload))).id
            await conn.execute(self.q.set_burn, row["id"], attempt, request_id, holder, signature)
            await self._log(conn, row, caller, wallet=holder, action="redeem", outcome="pending", reason="burn_queued")
            return {**pending, "request_id": request_id}

        return await self._decide(meeting_id, caller, decide)

    async def token(self, meeting_id: int, caller: Caller) -> Result:
        """A Jitsi token for the host (seller) or the admitted holder; ``pending`` while the burn is in flight."""
        mine = set(caller.wallets)

        async def decide(conn: asyncpg.Connection, row: asyncpg.Record, notices: list[Any]) -> Result | AppError:
            if not participants(row) & mine:
                await self._log(conn, row, caller, wallet=None, action="token", outcome="denied",
                                reason="not_participant")  # fmt: skip
                return NotFound("no such meeting of yours", details={"meeting_id": meeting_id})
            state = status_of(row)
            host = row["seller"] if row["seller"] in mine else None
            admitted = row["redeemed_by"] if row["redeemed_by"] in mine else None
            wallet = host or admitted or next(iter(participants(row) & mine))
            if state in ("void", "closed", "expired"):
                await self._log(conn, row, caller, wallet=wallet, action="token", outcome="denied", reason=state)
                return Conflict(f"the meeting is {state}", details={"reason": state})
            if wallet in (host, admitted):
                await self._log(
                    conn,
                    row,
                    caller,
                    wallet=wallet,
                    action="token",
                    outcome="granted",
                    reason="host" if host else "redeemed",
                )
                token = room_token(self.settings, room=row["room"], user_id=caller.user_id, name=wallet,
                                   moderator=host is not None, not_after=row["ends_at"])  # fmt: skip
                return {"status": "granted", "meeting_id": row["id"], **token}
            if row["burn_status"] in IN_FLIGHT and row["burn_holder"] in mine:
                await self._log(
                    conn, row, caller, wallet=wallet, action="token", outcome="pending", reason="burn_in_flight"
                )
                return {"status": "pending", "meeting_id": row["id"], "request_id": row["burn_request_id"],
                        "holder": row["burn_holder"]}  # fmt: skip
            await self._log(conn, row, caller, wallet=wallet, action="token", outcome="denied", reason="not_admitted")
            return Forbidden("redeem the meeting pass first", details={"reason": "not_admitted"})

        return await self._decide(meeting_id, caller, decide)

    async def _seller_change(self, meeting_id: int, caller: Caller, change: Any) -> Result:
        async def decide(conn: asyncpg.Connection, row: asyncpg.Record, notices: list[Any]) -> Result | AppError:
            if not participants(row) & set(caller.wallets):
                return NotFound("no such meeting of yours", details={"meeting_id": meeting_id})
            if row["seller"] not in caller.wallets:
                return Forbidden("only the seller can change the meeting", details={"reason": "not_seller"})
            state = status_of(row)
            if state in ("void", "closed"):
                return Conflict(f"the meeting is {state}", details={"reason": state})
            kind, data = await change(conn, row)
            recipients = sorted({row["winner"], row["redeemed_by"]} - {None})
            suffix = f"{row['id']}:{data.get('ends_at') or 'closed'}"
            wanted = [Notice(r, kind, row["id"], f"{kind}:{r}:{suffix}", data) for r in recipients]
            notices.extend(await self.notifications.add(conn, wanted))
            return meeting_dict((await self._rows(conn, [row["id"]]))[0], caller.wallets)

        return await self._decide(meeting_id, caller, decide)

    async def extend(self, meeting_id: int, caller: Caller, ends_at: int) -> Result:
        async def change(conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[str, dict[str, Any]]:
            now = int(time.time())
            if ends_at <= max(now, int(row["ends_at"].timestamp())):
                raise InvalidInput("the new end must be later than the current end and than now")
            if ends_at > now + self.settings.meeting_max_ahead:
                raise InvalidInput(f"a meeting ends at most {self.settings.meeting_max_ahead} s from now")
            await conn.execute(self.q.extend_meeting, row["id"], float(ends_at))
            return "meeting_extended", {"auction_id": row["auction_id"], "ends_at": ends_at}

        return await self._seller_change(meeting_id, caller, change)

    async def close(self, meeting_id: int, caller: Caller, reason: str | None = None) -> Result:
        async def change(conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[str, dict[str, Any]]:
            await conn.execute(self.q.close_meeting, row["id"])
            return "meeting_closed", {"auction_id": row["auction_id"], "reason": reason}

        return await self._seller_change(meeting_id, caller, change)
